// The peer our users would otherwise rely on: LiveKit's own recovery. LiveKit's own multi-node cluster as
// the media-cluster wing runs it (two livekit-server nodes sharing a real Redis, each on its own
// 127.0.0.x, nginx in front as the one URL), and livekit-client with its default reconnect policy.
// Also what bench:failover's cluster group reads of such a cluster: which member holds a room, and
// whether every running member is registered again after a restart.
import Redis from 'ioredis';
import { startMediaCluster, type LiveKitCluster, type MediaNodeInfo } from '../support/engines';

/** LiveKit's `selector.AvailableSeconds` (v1.13.5): a member takes rooms while its stats are younger. */
const LIVEKIT_AVAILABLE_SECONDS = 5;

export interface LiveKitPeer {
  cluster: LiveKitCluster;
  /** The node LiveKit placed `room` on (Redis `room_node_map` -> node id -> the node with that id). */
  roomNode(room: string): Promise<MediaNodeInfo>;
  /** Restarts dead nodes and waits until LiveKit lists each one again, serving with fresh stats. */
  heal(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Reads LiveKit's `room_node_map` in a cluster's Redis. */
export class RoomMap {
  private readonly redis: Redis;

  constructor(private readonly cluster: LiveKitCluster) {
    this.redis = new Redis(cluster.livekitRedisUrl, { maxRetriesPerRequest: 1 });
  }

  /** The running member LiveKit placed `room` on. */
  async member(room: string): Promise<MediaNodeInfo> {
    const id = await this.redis.hget('room_node_map', room);
    const node = this.cluster.nodes().find((n) => id !== null && n.livekitNodeId === id);
    if (!node) throw new Error(`room ${room} is on ${id ?? 'no node'}, not on a running node of this cluster`);
    return node;
  }

  close(): void {
    this.redis.disconnect();
  }
}

/** Resolves once every running member is in LiveKit's `nodes` under its current id, SERVING, stats fresh. */
export async function waitUntilRegistered(cluster: LiveKitCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const registered = await cluster.registeredNodes();
    const missing = cluster
      .nodes()
      .filter((node) => node.state === 'running')
      .filter((node) => {
        const entry = registered.find((r) => r.id === node.livekitNodeId);
        return !entry || entry.state !== 'SERVING' || Date.now() / 1000 - entry.updatedAt >= LIVEKIT_AVAILABLE_SECONDS;
      });
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `not registered in LiveKit's nodes within ${timeoutMs} ms: ${missing.map((n) => n.name).join(', ')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startLiveKitPeer(
  apiKey: string,
  apiSecret: string,
  onLog: (line: string) => void = () => undefined,
): Promise<LiveKitPeer> {
  const cluster = await startMediaCluster('livekit', { topology: 'cluster', nodes: 2, apiKey, apiSecret, onLog });
  const rooms = new RoomMap(cluster);
  return {
    cluster,
    roomNode: (room) => rooms.member(room),
    heal: async (timeoutMs) => {
      for (const node of cluster.nodes()) if (node.state === 'dead') await cluster.restart(node.name);
      await waitUntilRegistered(cluster, timeoutMs);
    },
    stop: async () => {
      rooms.close();
      await cluster.stop();
    },
  };
}
