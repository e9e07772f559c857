import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { describeRedisTarget, type RedisTarget } from '../config/redis-target';

/** A command Redis does not answer in this long fails (a hung Redis gives 503s, not hanging requests). */
export const COMMAND_TIMEOUT_MS = 2_000;
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * A Redis connection that never blocks a request on an outage: commands fail at once while it is
 * down (no offline queue), and it reconnects on its own every second at most. One log line when it
 * goes away and one when it is back, not one per retry. With Sentinel, a reconnect asks the sentinels
 * for the current primary.
 */
export function connectRedis(
  target: RedisTarget,
  role: string,
  options: { offlineQueue?: boolean; autoPipelining?: boolean } = {},
): Redis {
  const logger = new Logger(`Redis ${role}`);
  const where = describeRedisTarget(target);
  const common = {
    enableOfflineQueue: options.offlineQueue ?? false,
    // Commands issued in the same turn of the event loop go out in one write (a join costs three).
    enableAutoPipelining: options.autoPipelining ?? true,
    maxRetriesPerRequest: options.offlineQueue ? null : 0,
    commandTimeout: options.offlineQueue ? undefined : COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  };
  const redis =
    typeof target === 'string'
      ? new Redis(target, common)
      : new Redis({
          ...common,
          sentinels: [...target.sentinels],
          name: target.name,
          sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
          // No failover detector: each reconnect (at most a second apart) asks the sentinels for the
          // primary anyway, and ioredis 5.11's detector, told of a promotion (+switch-master) while the
          // connection is asking a sentinel, makes that attempt fail as a closed connection and ends the
          // connection for good: every later command "Connection is closed." (bench:chaos; spec:
          // test/e2e/redis-sentinel-failovers).
          failoverDetector: false,
        });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn(
      `${where} unreachable (${error.message}); retrying every second, requests that need it answer 503 meanwhile`,
    );
  });
  redis.on('ready', () => {
    logger.log(down ? `${where} reachable again` : `connected to ${where}`);
    down = false;
  });
  return redis;
}

/** Resolves once `redis` is ready, or after `timeoutMs` in any case (an instance starts without Redis, and says so). */
export function untilReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}
