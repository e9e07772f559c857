// The two media engines every scenario runs on: the dev engine's nodes (werift), and the real LiveKit
// server (pinned, built by `npm run livekit:install`), both behind one MediaCluster interface. Loaded
// from the production build, as users get it: the dev engine starts its node program from beside its
// own compiled file (spec files run from TypeScript sources).
import type * as MediaClusterApi from '../../src/media-cluster';
import type { MediaEngine } from '../../src/media-cluster';
import { built } from './built';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the compiled build (dist/), not the sources
export const { startMediaCluster } = require(built('src/media-cluster')) as typeof MediaClusterApi;
export type {
  LiveKitCluster,
  MediaCluster,
  MediaClusterOptions,
  MediaEngine,
  MediaNodeInfo,
  RegisteredLiveKitNode,
} from '../../src/media-cluster';

/** `TEST_ENGINES=dev` (or livekit) narrows a local run; `npm test` runs both. */
export const ENGINES: MediaEngine[] = (process.env.TEST_ENGINES ?? 'dev,livekit')
  .split(',')
  .map((e) => e.trim()) as MediaEngine[];

export const ENGINE_NAMES: Record<MediaEngine, string> = { dev: 'dev cluster', livekit: 'real LiveKit server' };
