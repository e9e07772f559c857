// The peer our users would otherwise rely on: LiveKit's own recovery. LiveKit's own multi-node cluster as
// the media-cluster wing runs it (two livekit-server nodes sharing a real Redis, each on its own
// 127.0.0.x, nginx in front as the one URL), and livekit-client with its default reconnect policy.
import Redis from 'ioredis';
import { startMediaCluster, type LiveKitCluster, type MediaNodeInfo } from '../support/engines';

export interface LiveKitPeer {
  cluster: LiveKitCluster;
  /** The node LiveKit placed `room` on (Redis `room_node_map` -> node id -> the node with that id). */
  roomNode(room: string): Promise<MediaNodeInfo>;
  stop(): Promise<void>;
}

export async function startLiveKitPeer(
  apiKey: string,
  apiSecret: string,
  onLog: (line: string) => void = () => undefined,
): Promise<LiveKitPeer> {
  const cluster = await startMediaCluster('livekit', { topology: 'cluster', nodes: 2, apiKey, apiSecret, onLog });
  const redis = new Redis(cluster.livekitRedisUrl);
  return {
    cluster,
    roomNode: async (room) => {
      const id = await redis.hget('room_node_map', room);
      const node = cluster.nodes().find((n) => n.livekitNodeId === id);
      if (!node) throw new Error(`room ${room} is on ${id ?? 'no node'}, not on a node of this cluster`);
      return node;
    },
    stop: async () => {
      redis.disconnect();
      await cluster.stop();
    },
  };
}
