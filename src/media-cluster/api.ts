// The public face of the media cluster: the only file (with index.ts) that code outside
// src/media-cluster may import. Agreed between the backend, the tests and both engines.

/** Whose nodes run: the dev engine's (werift, no Go needed) or the real LiveKit server's. */
export type MediaEngine = 'dev' | 'livekit';

export interface MediaClusterOptions {
  /** Number of node processes. */
  nodes: number;
  /** First port; nodes take consecutive ports. 0 picks a free consecutive range. */
  basePort?: number;
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
  /** ws://127.0.0.1:PORT: what clients and the backend's --url use. */
  url: string;
  port: number;
  pid: number | undefined;
  state: MediaNodeState;
}

export interface MediaCluster {
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
  /** Stops every node; safe to call twice. */
  stop(): Promise<void>;
}
