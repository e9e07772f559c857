#!/usr/bin/env node
// `npm start`: builds the backend and the client when their sources are newer than the last build,
// then runs the backend with the arguments given after `--`.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function newestMtime(target) {
  if (!fs.existsSync(target)) return 0;
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs
    .readdirSync(target)
    .filter((name) => name !== 'node_modules' && name !== 'dist')
    .reduce((newest, name) => Math.max(newest, newestMtime(path.join(target, name))), stat.mtimeMs);
}

function builtAt(file) {
  return fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1;
}

function run(script) {
  console.log(`session-rebuilder: building (${script})...`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`session-rebuilder: "npm run ${script}" failed; fix the error above and run npm start again.`);
    process.exit(1);
  }
}

const serverSources = ['src', 'tsconfig.json', 'tsconfig.build.json'].map((p) => path.join(root, p));
// The sample app and the package it is built on (packages/resilient-room; dist/ and node_modules skipped).
const clientSources = ['client', 'packages/resilient-room', 'src/contracts'].map((p) => path.join(root, p));
const serverEntry = path.join(root, 'dist', 'src', 'main.js');
const clientEntry = path.join(root, 'client', 'dist', 'index.html');

// Stamps rather than output mtimes: tsc leaves unchanged outputs untouched.
const serverStamp = path.join(root, 'dist', '.server-built');
const clientStamp = path.join(root, 'client', 'dist', '.client-built');
function buildIfStale(script, sources, entry, stamp) {
  if (fs.existsSync(entry) && Math.max(...sources.map(newestMtime)) <= builtAt(stamp)) return;
  run(script);
  fs.writeFileSync(stamp, new Date().toISOString());
}
buildIfStale('build:server', serverSources, serverEntry, serverStamp);
buildIfStale('build:client', clientSources, clientEntry, clientStamp);

process.argv = [process.argv[0], serverEntry, ...process.argv.slice(2)];
require(serverEntry);
