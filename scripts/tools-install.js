#!/usr/bin/env node
// `npm run tools:install`: the Python tools the tests run (schemathesis, the API tester, and hadolint,
// the Dockerfile linter, from PyPI), pinned by tools/python-requirements.txt, into a git-ignored
// virtualenv .tools/venv, once per set of pins.
// Needs Python 3 with its venv module (Debian: python3-venv); says so when it is missing.
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const requirements = path.join(root, 'tools', 'python-requirements.txt');
const venv = path.join(root, '.tools', 'venv');
const stamp = path.join(venv, '.requirements-sha256');
const pins = crypto.createHash('sha256').update(fs.readFileSync(requirements)).digest('hex');

if (
  fs.existsSync(stamp) &&
  fs.readFileSync(stamp, 'utf8') === pins &&
  fs.existsSync(path.join(venv, 'bin', 'schemathesis'))
) {
  console.log('tools:install: schemathesis and hadolint are already installed in .tools/venv');
  process.exit(0);
}

const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
if (python.error || python.status !== 0) {
  console.error(
    'tools:install: Python 3 is needed for the API and Dockerfile tests (schemathesis, hadolint) and was not found on PATH; install python3 and python3-venv, then run `npm run tools:install` again',
  );
  process.exit(1);
}

const run = (command, args, what) => {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`tools:install: ${what} failed (exit ${result.status ?? result.signal}); see the output above`);
    process.exit(1);
  }
};
console.log(`tools:install: installing schemathesis and hadolint into .tools/venv with ${python.stdout.trim()} ...`);
fs.rmSync(venv, { recursive: true, force: true });
run('python3', ['-m', 'venv', venv], 'creating the virtualenv (Debian needs python3-venv)');
run(
  path.join(venv, 'bin', 'pip'),
  ['install', '--quiet', '--disable-pip-version-check', '--no-deps', '-r', requirements],
  'pip install of the pinned requirements',
);
fs.writeFileSync(stamp, pins);
console.log('tools:install: done');
