// A real redis-server (Debian's package) for the scale-out specs: loopback, a free port, append-only
// file on, in its own directory, so a restart on the same port finds every key again.
import Redis from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisProcess, type RedisProcess } from '../../src/media-cluster';
import { freePort } from '../../src/shared/ports';

export interface RedisServer extends RedisProcess {
  /** Stops for good and removes its directory. */
  close(): Promise<void>;
}

/** Fails loudly (never skips) when redis-server is not installed. */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-'));
  const redis = await startRedisProcess(dir, await freePort());
  return {
    ...redis,
    close: async () => {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A client like the store's own connection (no offline queue, no retry: a command fails at once while
 * Redis is away), once ready. Close it with disconnect(): after an outage it may still be reconnecting.
 */
export async function storeClient(server: Pick<RedisServer, 'url'>): Promise<Redis> {
  const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  await new Promise((resolve) => client.once('ready', resolve));
  return client;
}
