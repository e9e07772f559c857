import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { MAIN_JS } from '../support/app';
import { spawnNode } from '../support/child-process';

describe('start-up configuration', () => {
  it('bad values exit with code 2 and one message naming every one of them, without the secret', async () => {
    const secret = 'very-secret-value-never-logged';
    const proc = spawnNode(
      MAIN_JS,
      ['--url', 'http://nope', '--url', 'ws://127.0.0.1:7880', '--secret', secret, '--port', 'abc'],
      {
        LIVEKIT_URL: '',
        LIVEKIT_API_KEY: '',
        LIVEKIT_API_SECRET: '',
        PORT: '',
      },
    );
    try {
      const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
      assert.equal(code, 2);
      const out = proc.output();
      assert.match(out, /--url \/ LIVEKIT_URL: each URL must be ws:\/\/ or wss:\/\/ \(got \["http:\/\/nope"\]\)/);
      assert.match(out, /--api-key \/ LIVEKIT_API_KEY: an API key is required/);
      assert.match(out, /--port \/ PORT: must be an integer between 0 and 65535 \(got "abc"\)/);
      assert.doesNotMatch(out, new RegExp(secret));
    } finally {
      await proc.stop(500);
    }
  });

  it('the embedded dev cluster on a public --host (the Docker image with no --url) refuses to start, saying what to pass', async () => {
    const proc = spawnNode(MAIN_JS, ['--host', '0.0.0.0', '--port', '0'], {
      LIVEKIT_URL: '',
      LIVEKIT_API_KEY: '',
      LIVEKIT_API_SECRET: '',
      PORT: '',
      HOST: '',
      DEV_MODE: '',
    });
    try {
      const code = await new Promise<number | null>((resolve) => proc.child.once('exit', (c) => resolve(c)));
      assert.equal(code, 2);
      assert.match(
        proc.output(),
        /--host \/ HOST: the embedded dev cluster .* serves only on loopback, not on "0\.0\.0\.0"; give your media nodes with --url .* or pass --dev/,
      );
      assert.doesNotMatch(proc.output(), /\n\s+at /); // no stack
    } finally {
      await proc.stop(500);
    }
  });
});
