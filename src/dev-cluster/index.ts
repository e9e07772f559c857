// Entry point for code outside src/dev-cluster: the agreed types plus the function that starts a cluster.
export * from './api';
export { DEFAULT_EMPTY_TIMEOUT_SEC, startDevCluster } from './dev-cluster';
