// A real redis-server (Debian's package) for the scale-out specs: loopback, a free port, append-only
// file on, in its own directory, so a restart on the same port finds every key again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisProcess, type RedisProcess } from '../../src/local-stack/redis-process';
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
