// Entry point for code outside src/media-cluster: the agreed types, the function that starts a cluster,
// and the Redis and nginx launchers a cluster uses (npm run cluster and the specs start their own too).
export * from './api';
export { DEFAULT_EMPTY_TIMEOUT_SEC, startMediaCluster } from './start-media-cluster';
export { DEFAULT_NODE_PORT } from './engines/livekit/livekit-cluster';
export { requireNginx, startNginx, type NginxProcess } from './nginx';
export { requireRedisServer, startRedisProcess, type RedisProcess } from './redis-process';
