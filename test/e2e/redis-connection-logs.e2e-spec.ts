// A Redis password given in the URL's query (ioredis honours ?password=) stays out of the Redis
// connection's log lines: connected, unreachable, reachable again. A real redis-server that requires
// the password, so the URL the spec logs with is one ioredis really authenticates with.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { connectRedis } from '../../src/common/redis-connection';
import { startRedisServer, type RedisServer } from '../support/redis-server';

const PASSWORD = 'hunter2-in-the-query';

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the Redis connection's log lines", () => {
  let server: RedisServer;
  let client: Redis | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    await admin.config('SET', 'requirepass', PASSWORD);
    admin.disconnect();
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((message: unknown) => void lines.push(String(message)));
    }
    // ioredis's own warning when a restarted server no longer asks for the password (it says nothing of the URL).
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    jest.restoreAllMocks();
    await server?.close();
  });

  it('name the URL with its ?password= redacted: at start, when Redis goes away and when it is back', async () => {
    const url = `${server.url}/0?password=${PASSWORD}`;
    client = connectRedis(url, 'store');
    await waitFor('ready', () => client!.status === 'ready');
    expect(await client.ping()).toBe('PONG'); // authenticated with the query's password
    await server.stop();
    await waitFor('the unreachable line', () => lines.some((line) => line.includes('unreachable')));
    await server.start();
    await waitFor('the reachable-again line', () => lines.some((line) => line.includes('reachable again')));
    const redacted = `${server.url}/0?password=***`;
    expect(lines).toEqual(
      expect.arrayContaining([
        `connected to ${redacted}`,
        expect.stringMatching(new RegExp(`^${redacted.replace(/[.*?/]/g, '\\$&')} unreachable \\(`)),
        `${redacted} reachable again`,
      ]),
    );
    expect(lines.filter((line) => line.includes(PASSWORD))).toEqual([]);
  });
});
