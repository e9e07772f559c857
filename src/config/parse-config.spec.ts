import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { redactUrl } from './redis-target';
import { ConfigError, isLoopbackHost, parseConfig } from './parse-config';

function problems(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(argv, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('parseConfig', () => {
  it('reads repeated and comma-separated --url flags, key, secret and port', () => {
    const config = parseConfig(
      [
        '--url',
        'ws://127.0.0.1:7880',
        '--url=ws://127.0.0.1:7881,wss://media.example.com',
        '--api-key',
        'K',
        '--secret',
        'S',
        '--port',
        '5001',
      ],
      {},
    );
    expect(config.urls).toEqual(['ws://127.0.0.1:7880', 'ws://127.0.0.1:7881', 'wss://media.example.com']);
    assert.equal(config.apiKey, 'K');
    assert.equal(config.apiSecret, 'S');
    assert.equal(config.port, 5001);
    assert.equal(config.embeddedCluster, false);
  });

  it('falls back to the environment, flags win', () => {
    const env = {
      LIVEKIT_URL: 'ws://a:7880, ws://b:7880',
      LIVEKIT_API_KEY: 'EK',
      LIVEKIT_API_SECRET: 'ES',
      PORT: '6000',
    };
    const fromEnv = parseConfig([], env);
    expect(fromEnv.urls).toEqual(['ws://a:7880', 'ws://b:7880']);
    expect([fromEnv.apiKey, fromEnv.apiSecret, fromEnv.port]).toEqual(['EK', 'ES', 6000]);
    assert.equal(parseConfig(['--port', '7000', '--api-key', 'FK'], env).apiKey, 'FK');
    assert.equal(parseConfig(['--port', '7000'], env).port, 7000);
  });

  it('no url means the embedded dev cluster with a generated key pair', () => {
    const config = parseConfig([], { PORT: '' });
    assert.equal(config.embeddedCluster, true);
    expect(config.urls).toEqual([]);
    assert.match(config.apiKey, /^dev-/);
    assert.ok(config.apiSecret.length >= 32);
    assert.notEqual(parseConfig([], {}).apiSecret, config.apiSecret, 'random per run');
  });

  it('--media livekit is an embedded cluster too, on the real server, in dev mode', () => {
    const config = parseConfig(['--media', 'livekit'], {});
    expect([config.embeddedCluster, config.media, config.devMode]).toEqual([true, 'livekit', true]);
  });

  it('names every bad value at once and never the secret', () => {
    const found = problems([
      '--url',
      'http://x',
      '--url',
      'ws://ok:1',
      '--secret',
      'hunter2-secret',
      '--port',
      '70000',
      '--bogus',
    ]);
    assert.equal(found.length, 4, found.join('\n'));
    assert.ok(found.some((p) => p === 'unknown option "--bogus"'));
    assert.ok(found.some((p) => p.startsWith('--url') && p.includes('http://x')));
    assert.ok(found.some((p) => p.startsWith('--api-key')));
    assert.ok(found.some((p) => p.startsWith('--port') && p.includes('70000')));
    assert.ok(!found.join('\n').includes('hunter2-secret'));
  });

  it('a missing secret with --url is named, and a flag without value too', () => {
    const found = problems(['--url', 'ws://a:1', '--api-key', 'K', '--port']);
    assert.ok(
      found.some((p) => p.startsWith('--secret')),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p === '--port needs a value'),
      found.join('\n'),
    );
  });

  it('refuses a dev base port that leaves no room for every dev node', () => {
    const found = problems(['--dev-base-port', '65535', '--dev-nodes', '2']);
    expect(found).toEqual([
      '--dev-base-port: 2 nodes from port 65535 would need port 65536; the last must be at most 65535',
    ]);
    assert.equal(parseConfig(['--dev-base-port', '65534', '--dev-nodes', '2'], {}).devBasePort, 65534);
  });

  it('refuses the same url twice', () => {
    assert.ok(
      problems(['--url', 'ws://a:1,ws://a:1', '--api-key', 'K', '--secret', 'S']).some((p) => p.includes('twice')),
    );
  });

  it('takes --redis or REDIS_URL (the flag wins) and refuses what is not a redis:// URL', () => {
    const base = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    expect(parseConfig([...base, '--redis', 'redis://127.0.0.1:6379'], { REDIS_URL: 'redis://other:1' }).redis).toBe(
      'redis://127.0.0.1:6379',
    );
    expect(parseConfig(base, { REDIS_URL: 'redis://127.0.0.1:6380' }).redis).toBe('redis://127.0.0.1:6380');
    expect(parseConfig(base, {}).redis).toBeUndefined();
    expect(problems([...base, '--redis', 'http://127.0.0.1:6379'])).toEqual([
      '--redis / REDIS_URL: must be a redis:// or rediss:// URL (got "http://127.0.0.1:6379")',
    ]);
  });

  it('Redis through Sentinel: --redis-sentinel (repeatable or comma-separated, or REDIS_SENTINELS) with --redis-name, instead of --redis', () => {
    const key = ['--url', 'ws://a:7880', '--api-key', 'K', '--secret', 'S'];
    const config = parseConfig(
      [
        ...key,
        '--redis-sentinel',
        '10.0.0.1:26379,10.0.0.2:26379',
        '--redis-sentinel',
        's3:26379',
        '--redis-name',
        'main',
      ],
      {},
    );
    expect(config.redisTarget).toEqual({
      name: 'main',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: 's3', port: 26379 },
      ],
    });
    expect(parseConfig(key, { REDIS_SENTINELS: 'a:1,b:2', REDIS_NAME: 'n' }).redisTarget).toMatchObject({ name: 'n' });
    expect(parseConfig([...key, '--redis', 'redis://r:6379'], {}).redisTarget).toBe('redis://r:6379');
    expect(problems([...key, '--redis-sentinel', 'a:1'])).toEqual([
      '--redis-sentinel / REDIS_SENTINELS: needs --redis-name / REDIS_NAME, the name the sentinels monitor the primary under',
    ]);
    expect(problems([...key, '--redis-name', 'main'])).toEqual([
      '--redis-name / REDIS_NAME: needs --redis-sentinel / REDIS_SENTINELS, the sentinels to ask for that primary',
    ]);
    expect(problems([...key, '--redis-sentinel', 'a:1', '--redis-name', 'm', '--redis', 'redis://r:1'])).toEqual([
      '--redis-sentinel / REDIS_SENTINELS: replaces --redis / REDIS_URL; give one of them',
    ]);
    expect(problems([...key, '--redis-sentinel', 'nohost', '--redis-name', 'bad name'])).toEqual([
      expect.stringMatching(/^--redis-sentinel .*each must be host:port/),
      expect.stringMatching(/^--redis-name .*must be 1-64 characters/),
    ]);
  });

  it('cluster mode: --livekit-redis (or LIVEKIT_REDIS_URL) with exactly one --url, --node-port 7880 by default', () => {
    const key = ['--api-key', 'K', '--secret', 'S'];
    const config = parseConfig(
      ['--url', 'ws://lk.example:7880', '--livekit-redis', 'redis://10.0.0.5:6379', ...key],
      {},
    );
    expect([config.clusterMode, config.livekitRedis, config.nodePort]).toEqual([true, 'redis://10.0.0.5:6379', 7880]);
    const fromEnv = parseConfig(['--url', 'ws://lk.example:7880', ...key], {
      LIVEKIT_REDIS_URL: 'redis://r:6379',
      NODE_PORT: '7890',
    });
    expect([fromEnv.livekitRedis, fromEnv.nodePort]).toEqual(['redis://r:6379', 7890]);
    expect(parseConfig(['--url', 'ws://a:7880', '--url', 'ws://b:7880', ...key], {}).clusterMode).toBe(false);
    expect(problems(['--livekit-redis', 'redis://r:6379', ...key])).toEqual([
      expect.stringMatching(/^--livekit-redis \/ LIVEKIT_REDIS_URL: needs the cluster's client URL as the one --url/),
    ]);
    expect(
      problems(['--url', 'ws://a:7880', '--url', 'ws://b:7880', '--livekit-redis', 'redis://r:6379', ...key]),
    ).toEqual([expect.stringMatching(/needs exactly one --url, the cluster's client URL \(got 2\)/)]);
    expect(problems(['--url', 'ws://a:7880', '--livekit-redis', 'http://r:6379', '--node-port', '0', ...key])).toEqual([
      expect.stringMatching(/^--livekit-redis .*must be a redis:\/\/ or rediss:\/\/ URL/),
      expect.stringMatching(/^--node-port \/ NODE_PORT: must be a port number, 1-65535 \(got "0"\)/),
    ]);
    expect(parseConfig(['--media', 'livekit', '--livekit-cluster'], {}).livekitCluster).toBe(true);
    expect(problems(['--livekit-cluster'])).toEqual([
      expect.stringMatching(/--livekit-cluster: .* needs --media livekit and no --url/),
    ]);
  });

  it('takes --cors-origin (repeatable, or comma-separated in CORS_ORIGIN) and refuses what is not a bare origin', () => {
    const base = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    expect(
      parseConfig([...base, '--cors-origin', 'https://a.example', '--cors-origin', 'http://localhost:5173/'], {})
        .corsOrigins,
    ).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(parseConfig(base, { CORS_ORIGIN: 'https://a.example,https://b.example' }).corsOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    expect(parseConfig(base, {}).corsOrigins).toEqual([]);
    expect(problems([...base, '--cors-origin', 'https://a.example/app', '--cors-origin', 'ftp://x'])).toEqual([
      '--cors-origin / CORS_ORIGIN: each must be an origin, http(s)://host[:port] with no path (got ["https://a.example/app","ftp://x"])',
    ]);
  });

  it('takes --admin-token or ADMIN_TOKEN, refuses a short one without showing it, and never logs it', () => {
    const base = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    const token = 'operators-only-0123456789';
    const config = parseConfig([...base, '--admin-token', token], { ADMIN_TOKEN: 'from-the-environment-0123' });
    expect(config.adminToken).toBe(token);
    expect(config.describe()).toContain('operator endpoints need the admin token');
    expect(config.describe()).not.toContain(token);
    expect(parseConfig(base, { ADMIN_TOKEN: 'from-the-environment-0123' }).adminToken).toBe(
      'from-the-environment-0123',
    );
    expect(parseConfig(base, {}).describe()).toContain('operator endpoints off (no --admin-token)');
    expect(problems([...base, '--admin-token', 'short-secret'])).toEqual([
      "--admin-token / ADMIN_TOKEN: must be at least 16 characters (it guards every session's name and participants)",
    ]);
  });

  it('takes --auth-secret or AUTH_SECRET, refuses a short one without showing it', () => {
    const base = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    const secret = 'shared-with-the-developers-app-0123456789';
    const config = parseConfig([...base, '--auth-secret', secret], {});
    expect(config.authSecret).toBe(secret);
    expect(config.describe()).toContain('joins need a token from your app');
    expect(config.describe()).not.toContain(secret);
    expect(parseConfig(base, { AUTH_SECRET: secret }).authSecret).toBe(secret);
    expect(parseConfig(base, {}).describe()).toContain('anyone with the link may join');
    expect(problems([...base, '--auth-secret', 'too-short-secret'])).toEqual([
      '--auth-secret / AUTH_SECRET: must be at least 32 characters (an HS256 key)',
    ]);
  });

  it('takes --auth-max-age or AUTH_MAX_AGE in seconds (the flag wins), 24 h by default, 0 for none, and names a bad value', () => {
    const base = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    expect(parseConfig(base, {}).authMaxAge).toBe(86_400);
    expect(parseConfig([...base, '--auth-max-age', '600'], { AUTH_MAX_AGE: '60' }).authMaxAge).toBe(600);
    expect(parseConfig(base, { AUTH_MAX_AGE: '3600' }).authMaxAge).toBe(3600);
    expect(parseConfig([...base, '--auth-max-age', '0'], {}).authMaxAge).toBe(0);
    expect(problems([...base, '--auth-max-age', '10m', '--port', 'x'])).toEqual([
      '--port / PORT: must be an integer between 0 and 65535 (got "x")',
      '--auth-max-age / AUTH_MAX_AGE: must be a number of seconds >= 0 (0: no maximum) (got "10m")',
    ]);
    expect(problems(base, { AUTH_MAX_AGE: '-5' })).toEqual([
      '--auth-max-age / AUTH_MAX_AGE: must be a number of seconds >= 0 (0: no maximum) (got "-5")',
    ]);
  });

  it('limits: --rate-limit, --max-sockets-per-address, --max-participants (or env) with defaults, 0 for none; --trust-proxy', () => {
    const base = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    const defaults = parseConfig(base, {});
    expect([defaults.rateLimit, defaults.maxSocketsPerAddress, defaults.maxParticipants, defaults.trustProxy]).toEqual([
      60,
      32,
      100,
      ['loopback'],
    ]);
    const set = parseConfig(
      [...base, '--rate-limit', '0', '--max-sockets-per-address', '5', '--trust-proxy', '10.0.0.0/8, loopback'],
      { MAX_PARTICIPANTS: '1000' },
    );
    expect([set.rateLimit, set.maxSocketsPerAddress, set.maxParticipants, set.trustProxy]).toEqual([
      0,
      5,
      1000,
      ['10.0.0.0/8', 'loopback'],
    ]);
    expect(
      problems([...base, '--rate-limit', '-1', '--max-participants', '1001', '--trust-proxy', 'everyone']),
    ).toEqual([
      '--rate-limit / RATE_LIMIT: must be an integer >= 0 (0: no limit) (got "-1")',
      '--max-participants / MAX_PARTICIPANTS: must be an integer between 0 and 1000 (0: no cap) (got "1001")',
      '--trust-proxy / TRUST_PROXY: must be loopback, linklocal, uniquelocal, or addresses / subnets, comma-separated (got "everyone")',
    ]);
  });

  it('dev mode: the embedded cluster on loopback, or --dev / DEV_MODE=1; the embedded cluster elsewhere only with --dev', () => {
    expect(parseConfig([], {}).devMode).toBe(true);
    expect(parseConfig(['--host', 'localhost'], {}).devMode).toBe(true);
    const withUrl = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    expect(parseConfig(withUrl, {}).devMode).toBe(false);
    expect(parseConfig([...withUrl, '--dev'], {}).devMode).toBe(true);
    expect(parseConfig(withUrl, { DEV_MODE: '1' }).devMode).toBe(true);
    expect(parseConfig([...withUrl, '--host', '0.0.0.0'], {}).host).toBe('0.0.0.0');
    expect(problems(['--host', '0.0.0.0'])).toEqual([
      '--host / HOST: the embedded dev cluster (default keys, crash buttons, no access control) serves only on loopback, not on "0.0.0.0"; ' +
        'give your media nodes with --url (and an --api-key / --secret), or pass --dev to expose the dev cluster on purpose',
    ]);
    expect(parseConfig(['--host', '0.0.0.0', '--dev'], {}).host).toBe('0.0.0.0');
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.5', 'example.com', '::', '128.0.0.1'])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it('never shows a Redis password in the start-up line', () => {
    const config = parseConfig(
      ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S', '--redis', 'redis://user:hunter2@127.0.0.1:6379'],
      {},
    );
    expect(config.describe()).toContain('redis://user:***@127.0.0.1:6379');
    expect(config.describe()).not.toContain('hunter2');
  });

  it('redacts a Redis password given as a query parameter (ioredis takes ?password=) as well as in the userinfo, and nothing else', () => {
    const cases: Array<[string, string]> = [
      ['redis://127.0.0.1:6379/0?password=hunter2', 'redis://127.0.0.1:6379/0?password=***'],
      [
        'rediss://cache.example:6380/2?tls=true&password=hun%26ter2&family=6',
        'rediss://cache.example:6380/2?tls=true&password=***&family=6',
      ],
      ['redis://h:1?sentinelPassword=hunter2&name=mymaster', 'redis://h:1?sentinelPassword=***&name=mymaster'],
      ['redis://h:1?pass%77ord=hunter2', 'redis://h:1?pass%77ord=***'], // what ioredis reads as password after decoding
      ['redis://user:hunter2@127.0.0.1:6379', 'redis://user:***@127.0.0.1:6379'],
      ['redis://:hunter2@127.0.0.1:6379/1', 'redis://:***@127.0.0.1:6379/1'],
      ['redis://:hun@ter2@127.0.0.1:6379', 'redis://:***@127.0.0.1:6379'], // the last @ ends the userinfo, as for ioredis's URL parser
      ['redis://user:hunter2@h:1/0?password=hunter2', 'redis://user:***@h:1/0?password=***'],
      // Nothing else changes:
      ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
      ['redis://user@127.0.0.1:6379/3?db=3&password=', 'redis://user@127.0.0.1:6379/3?db=3&password='],
      ['redis://[::1]:6379/0?family=6', 'redis://[::1]:6379/0?family=6'],
    ];
    for (const [url, shown] of cases) expect([url, redactUrl(url)]).toEqual([url, shown]);
    const config = parseConfig(
      ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S', '--redis', 'redis://127.0.0.1:6379/0?password=hunter2'],
      {},
    );
    expect(config.describe()).toContain('sessions in Redis at redis://127.0.0.1:6379/0?password=***');
    expect(config.describe()).not.toContain('hunter2');
  });

  it('a refused --redis value is shown without its password', () => {
    const base = ['--url', 'ws://a:1', '--api-key', 'K', '--secret', 'S'];
    expect(problems([...base, '--redis', 'http://user:hunter2@127.0.0.1:6379/0?password=hunter2'])).toEqual([
      '--redis / REDIS_URL: must be a redis:// or rediss:// URL (got "http://user:***@127.0.0.1:6379/0?password=***")',
    ]);
  });
});

describe('parsed configuration', () => {
  it('is frozen: nothing changes it after validation; the start-up makes resolved copies', () => {
    const config = parseConfig(['--url', 'ws://a:7880', '--api-key', 'k', '--secret', 's', '--port', '0'], {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => Object.assign(config, { port: 1 })).toThrow(TypeError);
    const resolved = config.resolved({ port: 41234 });
    expect([resolved.port, config.port, resolved.urls]).toEqual([41234, 0, ['ws://a:7880']]);
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('a value flag followed by another flag is missing its value (the next flag is still read)', () => {
    expect(problems(['--url', '--port', '70000', 'stray'])).toEqual([
      '--url needs a value',
      'unexpected argument "stray"',
      expect.stringMatching(/^--port \/ PORT: must be an integer between 0 and 65535 \(got "70000"\)$/),
    ]);
  });
});
