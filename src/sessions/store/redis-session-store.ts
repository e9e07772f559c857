import type Redis from 'ioredis';
import { activeParticipants, isUnconfirmedInvite, type ParticipantRecord, type SessionRecord } from '../session.model';
import { redisKeys } from './redis-keys';
import { RedisScript } from './redis-script';
import { currentLease, type LeaseHolder } from './redis-lease';
import type { AddOutcome, NodeLoadCount, ParticipantView, ReplaceOutcome, SessionPlacement, SessionStore } from './session-store';
import { LeaseLostError, StoreUnavailableError } from './store.errors';

// Writes are Lua scripts: the record, its participants, the per-node index and the per-node load
// counters change together or not at all, and a write from an instance that lost its lease on the
// session is refused (KEYS[5] / ARGV[5]: the lease key and token, '' when the caller holds none).
// KEYS: session, contribution, ids, loads, lease, participants.
// ARGV: id, session JSON (no participants), node url, participants it adds to that node's load ('' while
// waiting for a node), lease token, active participants, unconfirmed invites, then identity / JSON pairs.
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

const SAVE = new RedisScript(`${FENCE}
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', '${redisKeys.byNodePrefix}' .. ARGV[3], ARGV[1])
redis.call('DEL', KEYS[6])
for i = 8, #ARGV, 2 do redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1]) end
if ARGV[4] == '' then
  redis.call('HSET', KEYS[2], 'url', ARGV[3], 'participants', 0, 'counted', 0, 'active', ARGV[6], 'unconfirmed', ARGV[7])
else
  redis.call('HSET', KEYS[2], 'url', ARGV[3], 'participants', ARGV[4], 'counted', 1, 'active', ARGV[6], 'unconfirmed', ARGV[7])
  redis.call('HINCRBY', KEYS[4], ARGV[3] .. '|sessions', 1)
  redis.call('HINCRBY', KEYS[4], ARGV[3] .. '|participants', tonumber(ARGV[4]))
end
return 1
`);

const DELETE = new RedisScript(`${FENCE}
redis.call('DEL', KEYS[1], KEYS[2], KEYS[6])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`);

// One participant more, O(1): KEYS session, contribution, loads, lease, participants;
// ARGV identity, JSON, the caller's lease token ('' for none), '1' when the participant counts as
// active, '1' when it is an unconfirmed invite, the most of those the session may hold (0: no limit),
// then the nodes the caller sees down. Without a lease of its own the caller is refused while any
// instance holds one: that writer has read the session and will rewrite it.
const ADD_PARTICIPANT = new RedisScript(`
if ARGV[3] ~= '' then
  if redis.call('GET', KEYS[4]) ~= ARGV[3] then return redis.error_reply('LEASE_LOST') end
elseif redis.call('EXISTS', KEYS[4]) == 1 then return 'busy' end
local json = redis.call('GET', KEYS[1])
if not json then return 'missing' end
local c = redis.call('HMGET', KEYS[2], 'url', 'counted', 'active', 'unconfirmed')
if c[2] ~= '1' then return 'waiting' end
for i = 7, #ARGV do if ARGV[i] == c[1] then return {'node-down', c[1]} end end
local session = cjson.decode(json)
local limit = tonumber(session.room.maxParticipants) or 0
if limit > 0 and tonumber(c[3] or 0) >= limit then return 'full' end
local pending = tonumber(ARGV[6])
if ARGV[5] == '1' and pending > 0 and tonumber(c[4] or 0) >= pending then return 'too-many-unconfirmed' end
if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 1 then return 'taken' end
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[2], 'unconfirmed', 1) end
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[2], 'active', 1)
  redis.call('HINCRBY', KEYS[2], 'participants', 1)
  redis.call('HINCRBY', KEYS[3], c[1] .. '|participants', 1)
end
return {'added', session.nodeUrl, tostring(session.generation)}
`);

// One participant rewritten in place if unchanged since it was read; refused while any lease is held
// (that writer has read the session and will rewrite it). KEYS session, participants, lease,
// contribution; ARGV identity, the JSON as read, the new JSON, the change in unconfirmed invites.
const REPLACE_PARTICIPANT = new RedisScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 'busy' end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 'missing' end
if current ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[4] ~= '0' then redis.call('HINCRBY', KEYS[4], 'unconfirmed', tonumber(ARGV[4])) end
return 'replaced'
`);

/**
 * Sessions in Redis, shared by every backend instance. Same semantics as the in-memory store (values
 * are copies; `save` replaces the record), plus the per-node indexes placement and the rebuild read,
 * so neither copies every session per decision.
 */
export class RedisSessionStore implements SessionStore {
  constructor(private readonly redis: Redis) {}

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const [session] = await this.many([sessionId]);
    return session;
  }

  async save(session: SessionRecord): Promise<void> {
    const { participants, ...rest } = session;
    const active = activeParticipants(session).length;
    const load = session.waitingForNode ? '' : String(active);
    const pairs = Object.entries(participants).flatMap(([identity, participant]) => [identity, JSON.stringify(participant)]);
    const unconfirmed = Object.values(participants).filter(isUnconfirmedInvite).length;
    await this.write(session.sessionId, SAVE, currentLease(session.sessionId), [JSON.stringify(rest), session.nodeUrl, load], [String(active), String(unconfirmed), ...pairs]);
  }

  async delete(sessionId: string): Promise<void> {
    await this.write(sessionId, DELETE, currentLease(sessionId), ['', '', ''], ['0', '0']);
  }

  async placement(sessionId: string): Promise<SessionPlacement | undefined> {
    const [json, active] = await this.call(() => Promise.all([this.redis.get(redisKeys.session(sessionId)), this.redis.hget(redisKeys.contribution(sessionId), 'active')]));
    if (!json) return undefined;
    const session = JSON.parse(json) as Omit<SessionRecord, 'participants'>;
    return {
      nodeUrl: session.nodeUrl,
      generation: session.generation,
      waitingForNode: session.waitingForNode,
      maxParticipants: session.room.maxParticipants,
      activeParticipants: Number(active ?? 0),
    };
  }

  async addParticipant(sessionId: string, participant: ParticipantRecord, downNodes: readonly string[] = [], maxUnconfirmed = 0): Promise<AddOutcome> {
    const lease = currentLease(sessionId);
    const keys = [redisKeys.session(sessionId), redisKeys.contribution(sessionId), redisKeys.loads, redisKeys.lease(sessionId), redisKeys.participants(sessionId)];
    const flags = [participant.state === 'left' ? '0' : '1', isUnconfirmedInvite(participant) ? '1' : '0', String(maxUnconfirmed)];
    const args = [participant.identity, JSON.stringify(participant), lease?.token ?? '', ...flags, ...downNodes];
    try {
      const reply = (await ADD_PARTICIPANT.run(this.redis, keys, args)) as string | [string, string, string?];
      if (typeof reply === 'string') return { outcome: reply as 'taken' | 'missing' | 'waiting' | 'full' | 'too-many-unconfirmed' | 'busy' };
      if (reply[0] === 'node-down') return { outcome: 'node-down', nodeUrl: reply[1] };
      return { outcome: 'added', nodeUrl: reply[1], generation: Number(reply[2]) };
    } catch (error) {
      if ((error as Error).message?.includes('LEASE_LOST')) throw new LeaseLostError(sessionId);
      throw new StoreUnavailableError(error);
    }
  }

  async participantView(sessionId: string, identity: string): Promise<ParticipantView | undefined> {
    const [json, version] = await this.call(() => Promise.all([this.redis.get(redisKeys.session(sessionId)), this.redis.hget(redisKeys.participants(sessionId), identity)]));
    if (!json || !version) return undefined;
    return { session: JSON.parse(json) as Omit<SessionRecord, 'participants'>, participant: JSON.parse(version) as ParticipantRecord, version };
  }

  async replaceParticipant(sessionId: string, participant: ParticipantRecord, version: string): Promise<ReplaceOutcome> {
    const keys = [redisKeys.session(sessionId), redisKeys.participants(sessionId), redisKeys.lease(sessionId), redisKeys.contribution(sessionId)];
    const unconfirmed = Number(isUnconfirmedInvite(participant)) - Number(isUnconfirmedInvite(JSON.parse(version) as ParticipantRecord));
    return (await this.call(() => REPLACE_PARTICIPANT.run(this.redis, keys, [participant.identity, version, JSON.stringify(participant), String(unconfirmed)]))) as ReplaceOutcome;
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
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.get(redisKeys.session(id)).hgetall(redisKeys.participants(id));
    const replies = await this.call(() => pipeline.exec());
    const sessions: SessionRecord[] = [];
    for (let i = 0; i < ids.length; i++) {
      const [sessionError, json] = replies![2 * i]!;
      const [participantsError, fields] = replies![2 * i + 1]!;
      if (sessionError || participantsError) throw new StoreUnavailableError(sessionError ?? participantsError);
      if (typeof json !== 'string') continue;
      const participants = Object.fromEntries(Object.entries(fields as Record<string, string>).map(([identity, p]) => [identity, JSON.parse(p) as ParticipantRecord]));
      sessions.push({ ...(JSON.parse(json) as Omit<SessionRecord, 'participants'>), participants });
    }
    return sessions;
  }

  private async write(sessionId: string, script: RedisScript, lease: LeaseHolder | undefined, args: [json: string, nodeUrl: string, load: string], rest: string[]): Promise<void> {
    const keys = [redisKeys.session(sessionId), redisKeys.contribution(sessionId), redisKeys.ids, redisKeys.loads, lease?.key ?? '', redisKeys.participants(sessionId)];
    try {
      await script.run(this.redis, keys, [sessionId, ...args, lease?.token ?? '', ...rest]);
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
