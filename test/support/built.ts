// The compiled programs specs start as separate processes: the backend and the dev cluster from the
// production build (dist/), test doubles such as the fake media node from the test build (dist-test/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The project root, from the TypeScript sources (specs) or from dist-test/ (benchmarks) alike. */
function projectRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

const ROOT = projectRoot();

/** A file under the project root, e.g. fromRoot('.tools/venv/bin/schemathesis'). */
export function fromRoot(file: string): string {
  return join(ROOT, file);
}

/** A file of the production build, e.g. built('src/main.js'). */
export function built(file: string): string {
  return join(ROOT, 'dist', file);
}

/** A file of the test build, e.g. builtTest('test/support/fake-media-node.js'). */
export function builtTest(file: string): string {
  return join(ROOT, 'dist-test', file);
}
