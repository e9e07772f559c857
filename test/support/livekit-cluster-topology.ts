// The third topology the scenarios run on: LiveKit's own multi-node cluster (real livekit-server only)
// from the media-cluster wing, nodes sharing a Redis on their own 127.0.0.x behind one nginx URL, and
// what a spec reads of it: LiveKit's registry (`nodes`) and which member holds a room (`room_node_map`).
// The backend runs in cluster mode over it (clusterAppArgs).
import Redis from 'ioredis';
import { startMediaCluster, type LiveKitCluster, type MediaNodeInfo } from './engines';

/** LiveKit's `selector.AvailableSeconds` (v1.13.5): a member counts while its stats are younger. */
export const LIVEKIT_AVAILABLE_SECONDS = 5;
/** A live member rewrites its entry in `nodes` every 2 s (StatsUpdateInterval); a restart registers at start. */
const REGISTERED_TIMEOUT_MS = 10_000;
/** A room's first join or CreateRoom places it within milliseconds; slack for a loaded machine. */
const ROOM_PLACED_TIMEOUT_MS = 5_000;

export interface LiveKitClusterTopology {
  cluster: LiveKitCluster;
  /** The backend's flags for cluster mode: the one URL, LiveKit's Redis, each member's signal port. */
  appArgs(): { urls: string[]; args: string[] };
  /**
   * The member LiveKit's `room_node_map` names for a room (a session's id is its room's name), once it
   * names a running one: a new session's room is placed by the CreateRoom that follows its first join,
   * a moved one's by the first join or CreateRoom after the move.
   */
  roomMember(room: string, timeoutMs?: number): Promise<MediaNodeInfo>;
  /** LiveKit's id for the member room_node_map names, or undefined when the room is not mapped. */
  roomMemberId(room: string): Promise<string | undefined>;
  /** The ids in LiveKit's registry (`nodes`). */
  registeredIds(): Promise<string[]>;
  /** Resolves once every running member is registered under its current id, SERVING, with fresh stats. */
  waitUntilRegistered(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startLiveKitClusterTopology(options: {
  nodes: number;
  apiKey: string;
  apiSecret: string;
  webhookUrl?: string;
  onLog?: (line: string) => void;
}): Promise<LiveKitClusterTopology> {
  // Fails naming what is missing (the LiveKit binary, redis-server, nginx, root for lo's addresses): never a skip.
  const cluster = await startMediaCluster('livekit', { ...options, topology: 'cluster' });
  const redis = new Redis(cluster.livekitRedisUrl, { maxRetriesPerRequest: 1 });
  const roomMemberId = async (room: string) => (await redis.hget('room_node_map', room)) ?? undefined;
  const topology: LiveKitClusterTopology = {
    cluster,
    appArgs: () => ({
      urls: [cluster.clusterUrl],
      args: ['--livekit-redis', cluster.livekitRedisUrl, '--node-port', String(cluster.nodes()[0]!.port)],
    }),
    roomMemberId,
    async roomMember(room, timeoutMs = ROOM_PLACED_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const id = await roomMemberId(room);
        const member = cluster
          .nodes()
          .find((node) => id !== undefined && node.livekitNodeId === id && node.state === 'running');
        if (member) return member;
        if (Date.now() > deadline)
          throw new Error(`room_node_map names ${id ?? 'no node'} for ${room}, none of the running members`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    registeredIds: async () => (await cluster.registeredNodes()).map((node) => node.id),
    async waitUntilRegistered(timeoutMs = REGISTERED_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const registered = await cluster.registeredNodes();
        const missing = cluster
          .nodes()
          .filter((node) => node.state === 'running')
          .filter((node) => {
            const entry = registered.find((r) => r.id === node.livekitNodeId);
            return (
              !entry || entry.state !== 'SERVING' || Date.now() / 1000 - entry.updatedAt >= LIVEKIT_AVAILABLE_SECONDS
            );
          });
        if (missing.length === 0) return;
        if (Date.now() > deadline)
          throw new Error(
            `members not registered in LiveKit's nodes within ${timeoutMs} ms: ${missing.map((n) => n.name).join(', ')} (nodes: ${JSON.stringify(registered)})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      redis.disconnect();
      await cluster.stop();
    },
  };
  return topology;
}
