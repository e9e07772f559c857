import type Redis from 'ioredis';
import { APPLYING_CLAIM_MS, type AppliedEventIds } from '../../webhooks/applied-event-ids';
import { REMEMBER_EVENT_ID_MS } from '../../webhooks/recent-event-ids';
import { StoreUnavailableError } from '../../sessions/store/store.errors';
import { redisKeys } from './redis-keys';

/** With --redis: a key per id (SET NX), which expires by itself. */
export class RedisAppliedEventIds implements AppliedEventIds {
  constructor(private readonly redis: Redis) {}

  async claim(id: string): Promise<boolean> {
    try {
      return (await this.redis.set(redisKeys.webhookEvent(id), 'applying', 'PX', APPLYING_CLAIM_MS, 'NX')) === 'OK';
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  async applied(id: string): Promise<void> {
    await this.redis.set(redisKeys.webhookEvent(id), 'applied', 'PX', REMEMBER_EVENT_ID_MS);
  }

  async release(id: string): Promise<void> {
    await this.redis.del(redisKeys.webhookEvent(id));
  }
}
