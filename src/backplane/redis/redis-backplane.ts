import type { INestApplicationContext } from '@nestjs/common';
import { hostname } from 'node:os';
import type { Backplane } from '../backplane';
import { RedisAppliedEventIds } from './redis-applied-event-ids';
import { COMMAND_TIMEOUT_MS, connectRedis, untilReady } from '../../common/redis-connection';
import type { RedisTarget } from '../../config/redis-target';
import { RedisIoAdapter } from './redis-io.adapter';
import { KEY_PREFIX } from './redis-keys';
import { RedisLease } from './redis-lease';
import { RedisNodeHealthBoard } from './redis-node-health-board';
import { RedisSessionStore } from './redis-session-store';

/** With Sentinel, the replicas a write waits for (WAIT) before it is answered. */
export const DURABLE_REPLICAS = 1;

/**
 * Several instances sharing one Redis (--redis, or through Sentinel). The only place that opens connections to it: the
 * store's (commands fail at once while Redis is away), the node health board's subscriber and the
 * socket.io adapter's pair (those wait for Redis rather than failing).
 */
export function redisBackplane(target: RedisTarget): Backplane {
  const redis = connectRedis(target, 'store');
  const board = new RedisNodeHealthBoard(
    redis,
    connectRedis(target, 'node health', { offlineQueue: true }),
    `${hostname()}:${process.pid}`,
    KEY_PREFIX,
  );
  let closed = false;
  return {
    kind: 'redis',
    // Through Sentinel a failover promotes a replica: a write is answered once a replica holds it too.
    store: new RedisSessionStore(redis, { replicas: typeof target === 'string' ? 0 : DURABLE_REPLICAS }),
    lease: new RedisLease(redis),
    healthBoard: board,
    appliedEventIds: new RedisAppliedEventIds(redis),
    socketAdapter: (app: INestApplicationContext) => new RedisIoAdapter(app, target),
    // The app starts once the store's connection is up (or has failed for COMMAND_TIMEOUT_MS): the
    // start-up probes announce node-up, whose rebuild of waiting sessions reads the store.
    ready: () => untilReady(redis, COMMAND_TIMEOUT_MS),
    close: () => {
      if (closed) return;
      closed = true;
      board.close();
      redis.disconnect();
    },
  };
}
