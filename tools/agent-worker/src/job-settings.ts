// What the worker hands its job processes: agents-js forks them with the worker's environment, and a
// job reads these back. Set only for LiveKit's own cluster (--livekit-redis).
const CLUSTER_URL = 'AGENT_WORKER_CLUSTER_URL';
const LIVEKIT_REDIS = 'AGENT_WORKER_LIVEKIT_REDIS';
const NODE_PORT = 'AGENT_WORKER_NODE_PORT';

export interface ClusterJobSettings {
  /** The cluster's URL: what a job connects to, whichever member its worker registered with. */
  url: string;
  /** The Redis LiveKit's nodes share, where a job finds its room's own node. */
  livekitRedis: string;
  nodePort: number;
}

/** In the worker, before it starts job processes. */
export function handToJobs(settings: ClusterJobSettings | undefined): void {
  if (!settings) {
    for (const name of [CLUSTER_URL, LIVEKIT_REDIS, NODE_PORT]) delete process.env[name];
    return;
  }
  process.env[CLUSTER_URL] = settings.url;
  process.env[LIVEKIT_REDIS] = settings.livekitRedis;
  process.env[NODE_PORT] = String(settings.nodePort);
}

/** In a job process: the cluster's settings, or undefined for independent nodes. */
export function clusterJobSettings(env: NodeJS.ProcessEnv = process.env): ClusterJobSettings | undefined {
  const url = env[CLUSTER_URL];
  const livekitRedis = env[LIVEKIT_REDIS];
  if (!url || !livekitRedis) return undefined;
  return { url, livekitRedis, nodePort: Number(env[NODE_PORT]) };
}
