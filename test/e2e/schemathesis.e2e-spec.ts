// Schemathesis (a property-based API tester, from PyPI; npm run tools:install puts it in .tools/venv)
// against the OpenAPI description the app serves: a bounded number of generated requests per
// operation, fixed seed, every operation. Each answer must not be a 5xx and must match what the
// description says for its status (code, content type, schema); the app must still be healthy after.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fromRoot } from '../support/built';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';
import { join as joinSession, OPERATOR_HEADERS } from '../support/session-client';

const SCHEMATHESIS = fromRoot('.tools/venv/bin/schemathesis');
const EXAMPLES_PER_OPERATION = 40;
const SEED = 20261201;

describe('schemathesis against /api/docs-json', () => {
  let stack: InProcessApp;
  beforeAll(async () => {
    stack = await startInProcessApp({});
  });
  afterAll(async () => {
    await stack?.close();
  });

  it(`every operation: ${EXAMPLES_PER_OPERATION} generated requests each (seed ${SEED}), no 5xx, every answer as documented, healthy after`, async () => {
    // Never skipped: the tester missing is a failure that says how to get it.
    expect(existsSync(SCHEMATHESIS) ? SCHEMATHESIS : 'schemathesis is missing: run `npm run tools:install` (npm test does)').toBe(SCHEMATHESIS);
    await joinSession(stack.url, 'existing', 'Ann'); // something for the operators' views to list
    const args = [
      'run',
      `${stack.url}/api/docs-json`,
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
      '--max-examples',
      String(EXAMPLES_PER_OPERATION),
      '--seed',
      String(SEED),
      '--phases',
      'examples,coverage,fuzzing',
      '--header',
      `Authorization: ${OPERATOR_HEADERS.authorization}`,
      '--no-color',
    ];
    const child = spawn(SCHEMATHESIS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const cases = /(\d+) generated, (\d+) (?:passed|found)/.exec(output);
    console.log(`schemathesis: ${cases ? `${cases[1]} generated requests` : 'no count printed'} over ${/Tested: (\d+)/.exec(output)?.[1] ?? '?'} operations, exit ${code}`);
    if (code !== 0) throw new Error(`schemathesis exited ${code}:\n${output.slice(-6000)}`);
    expect(/Tested: (\d+)/.exec(output)?.[1]).toBe(/Selected: (\d+)\/\1/.exec(output)?.[1]);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    expect((await joinSession(stack.url, 'after-the-storm', 'Bob')).url).toMatch(/^ws:\/\//);
  }, 180_000);
});
