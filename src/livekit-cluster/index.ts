// The real LiveKit server behind the dev cluster's interface (src/dev-cluster/api.ts).
export { startLiveKitCluster } from './livekit-cluster';
export { livekitBinary, requireLivekitBinary } from './livekit-binary';
