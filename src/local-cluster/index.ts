export { startLocalCluster } from './local-cluster';
export type { BackendInstance, LocalCluster, LocalClusterOptions } from './local-cluster';
