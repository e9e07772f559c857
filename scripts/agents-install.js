#!/usr/bin/env node
// `npm run agents:install`: the LiveKit agent worker the agent specs run (tools/agent-worker: @livekit/agents
// for Node and its own @livekit/rtc-node, pinned by its package-lock.json, apart from the project's
// @livekit/rtc-node, which @livekit/agents' peer range does not admit). Installs its locked packages once
// per lock (npm ci), then compiles it (TypeScript, with the project's compiler) into
// tools/agent-worker/dist/. It leaves out @livekit/local-inference and so the ~138 MB end-of-turn model
// (see tools/agent-worker/package.json's overrides): the echo agent loads no model.
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const worker = path.join(root, 'tools', 'agent-worker');
const stamp = path.join(worker, 'node_modules', '.install-sha256');
const pins = crypto
  .createHash('sha256')
  .update(fs.readFileSync(path.join(worker, 'package.json')))
  .update(fs.readFileSync(path.join(worker, 'package-lock.json')))
  .digest('hex');

const run = (command, args, what) => {
  const result = spawnSync(command, args, { cwd: worker, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`agents:install: ${what} failed (exit ${result.status ?? result.signal}); see the output above`);
    process.exit(1);
  }
};

if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === pins) {
  console.log('agents:install: tools/agent-worker packages are already installed');
} else {
  console.log('agents:install: installing tools/agent-worker packages (@livekit/agents, @livekit/rtc-node) ...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(npm, ['ci', '--no-audit', '--no-fund'], 'npm ci in tools/agent-worker');
  fs.writeFileSync(stamp, pins);
}
run(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', path.join(worker, 'tsconfig.json')],
  'tsc of tools/agent-worker',
);
console.log('agents:install: tools/agent-worker/dist/main.js is built');
