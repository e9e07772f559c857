// A real redis-server (Debian's package) for the scale-out specs: loopback, a free port, append-only
// file on, in its own directory, so a restart on the same port finds every key again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/shared/ports';
import { spawnProcess, type Spawned } from './child-process';

export interface RedisServer {
  url: string;
  port: number;
  pid(): number;
  /** SIGTERM: Redis flushes its append-only file and exits. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops for good and removes its directory. */
  close(): Promise<void>;
}

/** Fails loudly (never skips) when redis-server is not installed. */
export function requireRedisServer(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('redis-server is required for the scale-out tests and is not installed (Debian: apt-get install redis-server)');
  }
}

export async function startRedisServer(): Promise<RedisServer> {
  requireRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-'));
  let proc: Spawned | undefined;
  const start = async () => {
    proc = spawnProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '']);
    await proc.waitFor(/Ready to accept connections/, 10_000);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => proc!.pid,
    stop: async () => proc?.stop(5_000),
    start,
    close: async () => {
      await proc?.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
