// The dev cluster as users get it: loaded from the production build, because it starts its node
// program from beside its own compiled file (spec files run from TypeScript sources).
import type * as DevClusterApi from '../../src/dev-cluster';
import { built } from './built';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { startDevCluster } = require(built('src/dev-cluster')) as typeof DevClusterApi;
export type { DevCluster, DevNodeInfo } from '../../src/dev-cluster';
