import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_BASE_PORT, DEV_API_KEY, DEV_API_SECRET, parseCliOptions } from './cli-options';

describe('parseCliOptions', () => {
  it('runs two nodes on LiveKit’s port with the dev credentials by default', () => {
    const parsed = parseCliOptions([], {});
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    expect(parsed.options.cluster).toEqual({
      nodes: 2,
      basePort: DEFAULT_BASE_PORT,
      apiKey: DEV_API_KEY,
      apiSecret: DEV_API_SECRET,
      webhookUrl: undefined,
      emptyTimeoutSec: 300,
      topology: 'independent',
    });
    assert.equal(parsed.options.defaultSecret, true);
  });

  it('takes flags (spaced or with =) over the environment', () => {
    const parsed = parseCliOptions(
      [
        '--nodes',
        '3',
        '--port=9000',
        '--api-key',
        'K',
        '--secret',
        'S',
        '--webhook',
        'http://127.0.0.1:5000/webhooks/livekit',
        '--quiet',
      ],
      { LIVEKIT_API_KEY: 'envkey', LIVEKIT_API_SECRET: 'envsecret' },
    );
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.equal(parsed.options.cluster.nodes, 3);
    assert.equal(parsed.options.cluster.basePort, 9000);
    assert.equal(parsed.options.cluster.apiKey, 'K');
    assert.equal(parsed.options.cluster.apiSecret, 'S');
    assert.equal(parsed.options.cluster.webhookUrl, 'http://127.0.0.1:5000/webhooks/livekit');
    assert.equal(parsed.options.quiet, true);
    assert.equal(parsed.options.defaultSecret, false);
  });

  it('reads the credentials from the environment when no flag gives them', () => {
    const parsed = parseCliOptions([], { LIVEKIT_API_KEY: 'envkey', LIVEKIT_API_SECRET: 'envsecret' });
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.equal(parsed.options.cluster.apiKey, 'envkey');
    assert.equal(parsed.options.cluster.apiSecret, 'envsecret');
    assert.equal(parsed.options.defaultSecret, false);
  });

  it('names every bad value at once, by the flag the user typed', () => {
    const parsed = parseCliOptions(
      ['--nodes', 'many', '--port', '70000', '--webhook', 'ftp://x', '--empty-timeout', '-1', '--bogus', '--secret'],
      {},
    );
    assert.equal(parsed.kind, 'error');
    if (parsed.kind !== 'error') return;
    const text = parsed.problems.join('\n');
    for (const fragment of [
      '--nodes must be a number',
      '--port must be',
      '--webhook must be an http(s) URL',
      '--empty-timeout must be',
      'unknown option "--bogus"',
      '--secret needs a value',
    ]) {
      assert.match(text, new RegExp(fragment.replace(/[()]/g, '\\$&')));
    }
    assert.equal(parsed.problems.length, 6);
  });

  it('runs LiveKit’s own cluster with --topology cluster, on the livekit engine only', () => {
    const parsed = parseCliOptions(
      [
        '--engine',
        'livekit',
        '--topology',
        'cluster',
        '--nodes',
        '3',
        '--node-port',
        '7990',
        '--livekit-redis',
        'redis://127.0.0.1:6390',
      ],
      {},
    );
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    expect(parsed.options.cluster).toMatchObject({
      nodes: 3,
      topology: 'cluster',
      nodePort: 7990,
      livekitRedisUrl: 'redis://127.0.0.1:6390',
    });
    const problems = (argv: string[]) => {
      const result = parseCliOptions(argv, {});
      return result.kind === 'error' ? result.problems.join('\n') : '';
    };
    assert.match(problems(['--topology', 'cluster']), /--topology cluster .* needs --engine livekit/);
    assert.match(problems(['--topology', 'ring']), /--topology must be independent or cluster/);
    assert.match(
      problems(['--engine', 'livekit', '--node-port', '7990']),
      /--node-port and --livekit-redis apply to --topology cluster only/,
    );
    assert.match(
      problems(['--engine', 'livekit', '--topology', 'cluster', '--livekit-redis', 'http://x', '--node-port', '65535']),
      /--node-port must be a port from 1 to 65533[\s\S]*--livekit-redis must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('refuses a node count out of range', () => {
    const parsed = parseCliOptions(['--nodes', '0'], {});
    assert.equal(parsed.kind, 'error');
  });

  it('answers --help', () => {
    expect(parseCliOptions(['--nodes', '3', '--help'], {})).toEqual({ kind: 'help' });
  });
});
