import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import type { SessionStore } from '../sessions/store/session-store';
import type { Backplane } from './backplane';
import { memoryBackplane } from './memory/memory-backplane';
import { redisBackplane } from './redis/redis-backplane';

/**
 * The one place where memory or Redis is chosen (LiveKit's CreateRouter does the same for its router):
 * --redis (or Redis through Sentinel) shares everything through Redis; without it, one instance keeps everything in memory. A spec
 * that brings its own store gets the in-memory rest around it.
 */
export function createBackplane(config: Pick<AppConfig, 'redisTarget'>, clock: Clock, store?: SessionStore): Backplane {
  const target = config.redisTarget;
  return target && !store ? redisBackplane(target) : memoryBackplane(clock, store);
}
