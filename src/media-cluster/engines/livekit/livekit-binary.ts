import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The project root: the folder holding tools/livekit-server (sources may run from src/ or dist/src/). */
function projectRoot(): string {
  for (let dir = __dirname; ; dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'tools', 'livekit-server', 'go.mod'))) return dir;
    if (resolve(dir, '..') === dir) throw new Error('tools/livekit-server/go.mod not found above ' + __dirname);
  }
}

/** The pinned version (tools/livekit-server/go.mod) and where `npm run livekit:install` puts its build. */
export function livekitBinary(): { version: string; path: string } {
  const root = projectRoot();
  const goMod = readFileSync(join(root, 'tools', 'livekit-server', 'go.mod'), 'utf8');
  const version = /github\.com\/livekit\/livekit-server (v[\d.]+)/.exec(goMod)?.[1];
  if (!version) throw new Error('tools/livekit-server/go.mod names no livekit-server version');
  return { version, path: join(root, '.livekit', 'bin', `livekit-server-${version}`) };
}

/** The binary's path, or an error that says how to get it. */
export function requireLivekitBinary(): string {
  const { version, path } = livekitBinary();
  if (!existsSync(path)) {
    throw new Error(
      `the real LiveKit server ${version} is not built (${path} is missing): run \`npm run livekit:install\` (needs Go 1.26+)`,
    );
  }
  return path;
}
