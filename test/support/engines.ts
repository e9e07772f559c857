// What every scenario runs on. Two media engines, the dev engine's nodes (werift) and the real LiveKit
// server (pinned, built by `npm run livekit:install`), both behind one MediaCluster interface, as
// independent nodes (one URL each); and a third topology, LiveKit's own cluster (real LiveKit only:
// nodes sharing a Redis behind one nginx URL, the backend in cluster mode). Loaded from the production
// build, as users get it: the dev engine starts its node program from beside its own compiled file
// (spec files run from TypeScript sources).
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

/**
 * Independent nodes of either engine (`dev`, `livekit`: one URL per node, the backend places sessions),
 * or `livekit-cluster`: LiveKit's own multi-node cluster (one URL, LiveKit places rooms, the backend
 * reads its registry). The dev engine does not imitate LiveKit's Redis routing, so there is no dev cluster.
 */
export type Topology = MediaEngine | 'livekit-cluster';

const ALL_TOPOLOGIES: readonly Topology[] = ['dev', 'livekit', 'livekit-cluster'];

export const TOPOLOGY_NAMES: Record<Topology, string> = {
  dev: 'dev cluster',
  livekit: 'real LiveKit server',
  'livekit-cluster': "LiveKit's own cluster",
};

export const ENGINE_NAMES: Record<MediaEngine, string> = { dev: TOPOLOGY_NAMES.dev, livekit: TOPOLOGY_NAMES.livekit };

function selected(): Topology[] {
  const raw = process.env.TEST_ENGINES ?? ALL_TOPOLOGIES.join(',');
  const names = raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !(ALL_TOPOLOGIES as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(`TEST_ENGINES names ${unknown.join(', ')}; it takes a list of ${ALL_TOPOLOGIES.join(', ')}`);
  return ALL_TOPOLOGIES.filter((topology) => names.includes(topology));
}

/**
 * `TEST_ENGINES=dev` (or `livekit`, or `livekit-cluster`, or a comma-separated list) narrows a local
 * run; `npm test` runs all three.
 */
export const TOPOLOGIES: Topology[] = selected();

/** The independent-node engines among TOPOLOGIES: what the specs of one engine's nodes run on. */
export const ENGINES: MediaEngine[] = TOPOLOGIES.filter(
  (topology): topology is MediaEngine => topology !== 'livekit-cluster',
);
