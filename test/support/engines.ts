// The two media engines every scenario runs on: the embedded dev cluster, and the real LiveKit server
// (pinned, built by `npm run livekit:install`). Both offer the same DevCluster interface.
import type { DevCluster, DevClusterOptions } from '../../src/dev-cluster/api';
import { startLiveKitCluster } from '../../src/livekit-cluster';
import { startDevCluster } from './dev-cluster';

export type Engine = 'dev' | 'livekit';

/** `TEST_ENGINES=dev` (or livekit) narrows a local run; `npm test` runs both. */
export const ENGINES: Engine[] = (process.env.TEST_ENGINES ?? 'dev,livekit').split(',').map((e) => e.trim()) as Engine[];

export const ENGINE_NAMES: Record<Engine, string> = { dev: 'dev cluster', livekit: 'real LiveKit server' };

export function startCluster(engine: Engine, options: DevClusterOptions): Promise<DevCluster> {
  return engine === 'livekit' ? startLiveKitCluster(options) : startDevCluster(options);
}
