#!/usr/bin/env node
// `npm run livekit:install`: builds the pinned real LiveKit server (tools/livekit-server/go.mod and
// go.sum) into .livekit/bin/, once. The embedded dev cluster needs none of this; the tests and
// benchmarks that run on the real server do.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const moduleDir = path.join(root, 'tools', 'livekit-server');
const version = /github\.com\/livekit\/livekit-server (v[\d.]+)/.exec(
  fs.readFileSync(path.join(moduleDir, 'go.mod'), 'utf8'),
)?.[1];
if (!version) {
  console.error('livekit:install: tools/livekit-server/go.mod names no github.com/livekit/livekit-server version');
  process.exit(1);
}
const binary = path.join(root, '.livekit', 'bin', `livekit-server-${version}`);

if (fs.existsSync(binary)) {
  console.log(`livekit:install: livekit-server ${version} is already built: ${path.relative(root, binary)}`);
  process.exit(0);
}

const go = spawnSync('go', ['version'], { encoding: 'utf8' });
if (go.error || go.status !== 0) {
  console.error(
    `livekit:install: Go is needed to build the LiveKit server ${version} and was not found on PATH.\n` +
      '  Install Go 1.26 or newer (Debian: apt-get install golang-go, if its version is recent enough; or the official tarball),\n' +
      '  then run `npm run livekit:install` again. `npm start` without --media livekit needs no Go.',
  );
  process.exit(1);
}

console.log(
  `livekit:install: building livekit-server ${version} with ${go.stdout.trim()} (a few minutes the first time)...`,
);
const started = Date.now();
fs.mkdirSync(path.dirname(binary), { recursive: true });
const partial = `${binary}.partial`;
// GOTOOLCHAIN=local: build with the Go that is installed, never download another toolchain.
// -mod=readonly: go.sum must already pin every module; a build never rewrites it.
const build = spawnSync('go', ['build', '-trimpath', '-o', partial, 'github.com/livekit/livekit-server/cmd/server'], {
  cwd: moduleDir,
  stdio: 'inherit',
  env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
});
if (build.status !== 0) {
  fs.rmSync(partial, { force: true });
  console.error(
    `livekit:install: the build of livekit-server ${version} failed (exit ${build.status ?? build.signal}); see the output above`,
  );
  process.exit(1);
}
fs.renameSync(partial, binary);
console.log(`livekit:install: built ${path.relative(root, binary)} in ${Math.round((Date.now() - started) / 1000)} s`);
