// The public face of the media cluster: the only file (with index.ts) that code outside
// src/media-cluster may import. Agreed between the backend, the tests and both engines.
import type { LiveKitNodeEntry } from '../shared/livekit-node';

/** Whose nodes run: the dev engine's (werift, no Go needed) or the real LiveKit server's. */
export type MediaEngine = 'dev' | 'livekit';

/**
 * How the nodes relate. `independent`: each node alone on 127.0.0.1, one URL per node (either engine).
 * `cluster`: LiveKit's own multi-node cluster (livekit engine only): the nodes share a Redis, each on
 * its own loopback address and the same signal port, behind one nginx URL.
 */
export type MediaTopology = 'independent' | 'cluster';

export interface MediaClusterOptions {
  /** Number of node processes. */
  nodes: number;
  /**
   * Independent nodes: the first port; nodes take consecutive ports. 0 picks a free consecutive range.
   * Cluster: the port of the one client URL (nginx on 127.0.0.1); 0 picks a free one.
   */
  basePort?: number;
  /** Default `independent`. */
  topology?: MediaTopology;
  /** Cluster: the signal port every node listens on at its own address (LiveKit's default 7880). */
  nodePort?: number;
  /** Cluster: the Redis the nodes share (e.g. the backend's own); default: a redis-server of its own. */
  livekitRedisUrl?: string;
  apiKey: string;
  apiSecret: string;
  /** Where every node POSTs its signed webhooks. */
  webhookUrl?: string;
  /** Seconds an empty room lives before room_finished (LiveKit's default: 300). */
  emptyTimeoutSec?: number;
  /** Where node processes' own log lines go; default: discarded. */
  onLog?: (line: string) => void;
}

export type MediaNodeState = 'running' | 'hung' | 'dead';

export interface MediaNodeInfo {
  /** `node-1`, `node-2`, ... */
  name: string;
  /** ws://HOST:PORT: what clients and the backend's --url use (in a cluster, the node's own address). */
  url: string;
  /** 127.0.0.1, or in a cluster the node's own loopback address (its `ip` in LiveKit's registry). */
  host: string;
  port: number;
  pid: number | undefined;
  state: MediaNodeState;
  /** Cluster: LiveKit's id for the node's latest process (`ND_...`, a key of Redis `nodes`); new at every restart. */
  livekitNodeId?: string;
}

/** What every media cluster does, whatever its topology. */
export interface MediaClusterControl {
  readonly topology: MediaTopology;
  readonly apiKey: string;
  readonly apiSecret: string;
  nodes(): MediaNodeInfo[];
  /** Accepts a node name (`node-2`) or its url. */
  kill(node: string): Promise<void>;
  /** SIGSTOP: the process keeps its sockets open but never answers. */
  hang(node: string): Promise<void>;
  /** SIGCONT after hang(). */
  resume(node: string): Promise<void>;
  /** Starts a dead node again on the same port (same url). */
  restart(node: string): Promise<void>;
  /** Stops every node (and what a cluster started around them); safe to call twice. */
  stop(): Promise<void>;
}

/** An entry of LiveKit's node registry (Redis hash `nodes`, a protobuf `livekit.Node` per node id). */
/** A node's entry in LiveKit's registry (the Redis `nodes` hash), decoded. */
export type RegisteredLiveKitNode = LiveKitNodeEntry;

/** Independent nodes (either engine): each node's url is what clients and the backend's --url use. */
export interface IndependentMediaCluster extends MediaClusterControl {
  readonly topology: 'independent';
}

/** LiveKit's own multi-node cluster: what `startMediaCluster('livekit', { topology: 'cluster' })` returns. */
export interface LiveKitCluster extends MediaClusterControl {
  readonly topology: 'cluster';
  /**
   * ws://127.0.0.1:PORT: nginx in front of every node, the one URL clients and the backend use; a node
   * that fails its health check (`GET /` within 500 ms, every 250 ms) is left out until it answers.
   */
  readonly clusterUrl: string;
  /** nginx's pid (one process: master_process off). */
  readonly nginxPid: number;
  /** The Redis the nodes share, where LiveKit keeps `nodes` and `room_node_map`. */
  readonly livekitRedisUrl: string;
  /** LiveKit's node registry as it stands (dead nodes stay until someone removes them). */
  registeredNodes(): Promise<RegisteredLiveKitNode[]>;
}

export type MediaCluster = IndependentMediaCluster | LiveKitCluster;
