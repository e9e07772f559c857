// Schemathesis (a property-based API tester, from PyPI; npm run tools:install puts it in .tools/venv)
// against the OpenAPI description each instance serves for its own configuration, with every check it
// has (--checks all: answers as documented, schema-valid requests accepted and invalid ones refused,
// credentials enforced where declared and only there, 405 with Allow for undeclared methods, resources
// gone after a DELETE...), through every phase (examples, coverage, fuzzing, stateful): a bounded
// number of generated requests per operation, fixed seed. Three configurations: joins behind a join
// token, joins open, and dev mode. The instance must still be healthy and take a join after each.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { startApp } from '../support/app';
import { fromRoot } from '../support/built';
import { startInProcessApp } from '../support/in-process-app';
import { join as joinSession, TEST_ADMIN_TOKEN } from '../support/session-client';

const SCHEMATHESIS = fromRoot('.tools/venv/bin/schemathesis');
const EXAMPLES_PER_OPERATION = 40;
const SEED = 1;
const AUTH_SECRET = 'schemathesis-join-token-secret-0123456789';
/** The crash buttons would kill the instance (or a node) under test; nothing else is left out. */
const CRASH_BUTTONS = '^/api/dev/';
/**
 * Schema-violating requests must be refused: schemathesis's list of refusals (its default) plus 413, the
 * answer to a body over 16 KiB, which comes before the validator reads it (schemathesis's invalid
 * strings are long ones too). Nothing else is configured: schema-valid requests must be accepted as
 * schemathesis means it, 413 included.
 */
const REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, '5xx'];

/** A join token the developer's app would sign: every session, an hour. */
async function joinToken(): Promise<string> {
  return new SignJWT({ sessions: '*' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(AUTH_SECRET));
}

/**
 * Runs schemathesis against `appUrl`'s description; credentials per security scheme (the admin token,
 * a join token), as an operator or an app holding them would send them. Answers its output.
 */
async function runSchemathesis(
  appUrl: string,
  credentials: { admin?: string; join?: string },
  extraArgs: string[] = [],
): Promise<string> {
  // Never skipped: the tester missing is a failure that says how to get it.
  expect(
    existsSync(SCHEMATHESIS) ? SCHEMATHESIS : 'schemathesis is missing: run `npm run tools:install` (npm test does)',
  ).toBe(SCHEMATHESIS);
  const dir = mkdtempSync(join(tmpdir(), 'schemathesis-'));
  try {
    const config = join(dir, 'schemathesis.toml');
    const auth = Object.entries(credentials).map(
      ([scheme, token]) => `[auth.openapi.${scheme}]\nbearer = "${token}"\n`,
    );
    writeFileSync(
      config,
      [...auth, `[checks.negative_data_rejection]\nexpected-statuses = ${JSON.stringify(REFUSALS.map(String))}\n`].join(
        '\n',
      ),
    );
    const args = [
      '--config-file',
      config,
      'run',
      `${appUrl}/api/docs-json`,
      '--checks',
      'all',
      '--max-examples',
      String(EXAMPLES_PER_OPERATION),
      '--seed',
      String(SEED),
      // No example database: what a run tries is the seed's, not what earlier runs on this machine found.
      '--generation-database',
      'none',
      '--no-color',
      ...extraArgs,
    ];
    const child = spawn(SCHEMATHESIS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const cases = /(\d+) generated/.exec(output);
    console.log(
      `schemathesis: ${cases ? `${cases[1]} generated requests` : 'no count printed'} over ${/Tested: (\d+)/.exec(output)?.[1] ?? '?'} operations, exit ${code}`,
    );
    // Lines cut short: a failing case's curl line may carry a body of several KiB.
    if (code !== 0)
      throw new Error(
        `schemathesis exited ${code}:\n${output
          .split('\n')
          .map((line) => (line.length > 800 ? `${line.slice(0, 800)} …` : line))
          .join('\n')
          .slice(-20_000)}`,
      );
    // Every selected operation was tested, and the stateful phase ran (it is where DELETE is followed up).
    expect(/Tested: (\d+)/.exec(output)?.[1]).toBe(/Selected: (\d+)\/\d+/.exec(output)?.[1]);
    expect(output).toMatch(/✅ +Stateful/);
    return output;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('schemathesis against /api/docs-json, every check', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  const healthyAfter = async (appUrl: string, headers: Record<string, string> = {}) => {
    expect((await fetch(`${appUrl}/health`)).status).toBe(200);
    expect((await joinSession(appUrl, 'after-the-storm', 'Bob', {}, headers)).url).toMatch(/^ws:\/\//);
  };

  it(`--url nodes, --admin-token, --auth-secret: ${EXAMPLES_PER_OPERATION} requests per operation (seed ${SEED}), 0 failures`, async () => {
    const stack = await startInProcessApp({ args: ['--auth-secret', AUTH_SECRET] });
    cleanups.push(() => stack.close());
    const token = await joinToken();
    await joinSession(stack.url, 'existing', 'Ann', {}, { authorization: `Bearer ${token}` }); // something for the operators' views to list
    await runSchemathesis(stack.url, { admin: TEST_ADMIN_TOKEN, join: token });
    await healthyAfter(stack.url, { authorization: `Bearer ${token}` });
  }, 240_000);

  it(`--url nodes, --admin-token, joins open: ${EXAMPLES_PER_OPERATION} requests per operation (seed ${SEED}), 0 failures`, async () => {
    const stack = await startInProcessApp({});
    cleanups.push(() => stack.close());
    await joinSession(stack.url, 'existing', 'Ann');
    await runSchemathesis(stack.url, { admin: TEST_ADMIN_TOKEN });
    await healthyAfter(stack.url);
  }, 240_000);

  it(`dev mode (the embedded dev cluster, operators' endpoints open), crash buttons left out: 0 failures`, async () => {
    const app = await startApp({ adminToken: null, startTimeoutMs: 60_000 });
    cleanups.push(() => app.stop());
    await joinSession(app.url, 'existing', 'Ann');
    await runSchemathesis(app.url, {}, ['--exclude-path-regex', CRASH_BUTTONS]);
    await healthyAfter(app.url);
  }, 300_000);
});
