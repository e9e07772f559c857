import type Redis from 'ioredis';
import { activeParticipants, type SessionRecord } from '../session.model';
import { redisKeys } from './redis-keys';
import { currentLease, type LeaseHolder } from './redis-lease';
import type { NodeLoadCount, SessionStore } from './session-store';
import { LeaseLostError, StoreUnavailableError } from './store.errors';

// Writes are Lua scripts: the record, the per-node index and the per-node load counters change together
// or not at all, and a write from an instance that lost its lease on the session is refused (KEYS[5] /
// ARGV[5]: the lease key and token, '' when the caller holds none). ARGV: id, json, node url,
// participants it adds to that node's load ('' while waiting for a node: it adds nothing), lease token.
const FENCE = `
if KEYS[5] ~= '' and redis.call('GET', KEYS[5]) ~= ARGV[5] then return redis.error_reply('LEASE_LOST') end
local old = redis.call('HMGET', KEYS[2], 'url', 'participants', 'counted')
if old[1] then
  if old[3] == '1' then
    redis.call('HINCRBY', KEYS[4], old[1] .. '|sessions', -1)
    redis.call('HINCRBY', KEYS[4], old[1] .. '|participants', -tonumber(old[2]))
  end
  redis.call('SREM', '${redisKeys.byNodePrefix}' .. old[1], ARGV[1])
end
`;

const SAVE = `${FENCE}
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', '${redisKeys.byNodePrefix}' .. ARGV[3], ARGV[1])
if ARGV[4] == '' then
  redis.call('HSET', KEYS[2], 'url', ARGV[3], 'participants', 0, 'counted', 0)
else
  redis.call('HSET', KEYS[2], 'url', ARGV[3], 'participants', ARGV[4], 'counted', 1)
  redis.call('HINCRBY', KEYS[4], ARGV[3] .. '|sessions', 1)
  redis.call('HINCRBY', KEYS[4], ARGV[3] .. '|participants', tonumber(ARGV[4]))
end
return 1
`;

const DELETE = `${FENCE}
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`;

/**
 * Sessions in Redis, shared by every backend instance. Same semantics as the in-memory store (values
 * are copies; `save` replaces the record), plus the per-node indexes placement and the rebuild read,
 * so neither copies every session per decision.
 */
export class RedisSessionStore implements SessionStore {
  constructor(private readonly redis: Redis) {}

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const json = await this.call(() => this.redis.get(redisKeys.session(sessionId)));
    return json ? (JSON.parse(json) as SessionRecord) : undefined;
  }

  async save(session: SessionRecord): Promise<void> {
    const lease = currentLease(session.sessionId);
    const load = session.waitingForNode ? '' : String(activeParticipants(session).length);
    await this.write(session.sessionId, SAVE, lease, [JSON.stringify(session), session.nodeUrl, load]);
  }

  async delete(sessionId: string): Promise<void> {
    await this.write(sessionId, DELETE, currentLease(sessionId), ['', '', '']);
  }

  async list(): Promise<SessionRecord[]> {
    return this.many(await this.call(() => this.redis.smembers(redisKeys.ids)));
  }

  async listByNode(nodeUrl: string): Promise<SessionRecord[]> {
    const sessions = await this.many(await this.call(() => this.redis.smembers(redisKeys.byNode(nodeUrl))));
    return sessions.filter((session) => session.nodeUrl === nodeUrl);
  }

  async loadByNode(): Promise<Map<string, NodeLoadCount>> {
    const fields = await this.call(() => this.redis.hgetall(redisKeys.loads));
    const loads = new Map<string, NodeLoadCount>();
    for (const [field, value] of Object.entries(fields)) {
      const sep = field.lastIndexOf('|');
      const url = field.slice(0, sep);
      const load = loads.get(url) ?? { sessions: 0, participants: 0 };
      if (field.slice(sep + 1) === 'sessions') load.sessions = Number(value);
      else load.participants = Number(value);
      loads.set(url, load);
    }
    for (const [url, load] of loads) if (load.sessions <= 0) loads.delete(url);
    return loads;
  }

  private async many(ids: string[]): Promise<SessionRecord[]> {
    if (ids.length === 0) return [];
    const values = await this.call(() => this.redis.mget(ids.map(redisKeys.session)));
    return values.filter((json): json is string => json !== null).map((json) => JSON.parse(json) as SessionRecord);
  }

  private async write(sessionId: string, script: string, lease: LeaseHolder | undefined, args: [json: string, nodeUrl: string, load: string]): Promise<void> {
    const keys = [redisKeys.session(sessionId), redisKeys.contribution(sessionId), redisKeys.ids, redisKeys.loads, lease?.key ?? ''];
    try {
      await this.redis.eval(script, keys.length, ...keys, sessionId, ...args, lease?.token ?? '');
    } catch (error) {
      if ((error as Error).message?.includes('LEASE_LOST')) throw new LeaseLostError(sessionId);
      throw new StoreUnavailableError(error);
    }
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }
}
