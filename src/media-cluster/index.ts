// Entry point for code outside src/media-cluster: the agreed types plus the function that starts a cluster.
export * from './api';
export { DEFAULT_EMPTY_TIMEOUT_SEC, startMediaCluster } from './start-media-cluster';
