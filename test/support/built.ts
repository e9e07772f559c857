// The compiled programs specs start as separate processes: the backend and the dev cluster from the
// production build (dist/), test doubles such as the fake media node from the test build (dist-test/).
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

/** A file of the production build, e.g. built('src/main.js'). */
export function built(file: string): string {
  return join(ROOT, 'dist', file);
}

/** A file of the test build, e.g. builtTest('test/support/fake-media-node.js'). */
export function builtTest(file: string): string {
  return join(ROOT, 'dist-test', file);
}
