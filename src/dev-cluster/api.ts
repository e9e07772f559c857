// The public face of the dev cluster: the only file (with index.ts) that code outside
// src/dev-cluster may import. Agreed between the backend, the tests and the dev cluster.

export interface DevClusterOptions {
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

export type DevNodeState = 'running' | 'hung' | 'dead';

export interface DevNodeInfo {
  /** `node-1`, `node-2`, ... */
  name: string;
  /** ws://127.0.0.1:PORT: what clients and the backend's --url use. */
  url: string;
  port: number;
  pid: number | undefined;
  state: DevNodeState;
}

export interface DevCluster {
  readonly apiKey: string;
  readonly apiSecret: string;
  nodes(): DevNodeInfo[];
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
