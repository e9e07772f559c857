#!/usr/bin/env node
// Runs the compiled test files with node's own test runner, one file at a time: the e2e and browser
// suites start real processes (dev cluster nodes, the app, Chromium) and must not fight over 2 cores.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const suites = {
  unit: { dir: path.join(dist, 'src'), suffix: '.spec.js' },
  e2e: { dir: path.join(dist, 'test'), suffix: '.e2e-spec.js' },
  browser: { dir: path.join(dist, 'test', 'browser'), suffix: '.browser-spec.js' },
};

function find(dir, suffix) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return find(full, suffix);
    return entry.name.endsWith(suffix) ? [full] : [];
  });
}

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(suites);
const unknown = names.filter((name) => !suites[name]);
if (unknown.length > 0) {
  console.error(`Unknown suite(s): ${unknown.join(', ')}. Known: ${Object.keys(suites).join(', ')}.`);
  process.exit(2);
}
const files = names.flatMap((name) => find(suites[name].dir, suites[name].suffix).sort());
if (files.length === 0) {
  console.error(`No test files found for ${names.join(', ')} under ${path.relative(root, dist)}/. Did the build run?`);
  process.exit(1);
}
const tapFile = path.join(dist, 'test-results.tap');
const result = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: root, env: process.env },
);
const tap = fs.existsSync(tapFile) ? fs.readFileSync(tapFile, 'utf8') : '';
const count = (word) => Number((tap.match(new RegExp(`^# ${word} (\\d+)$`, 'm')) || [])[1] || 0);
console.log(`tests: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
process.exit(result.status ?? 1);
