import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import {
  activeParticipants,
  isUnconfirmedInvite,
  type ParticipantRecord,
  type SessionRecord,
} from '../../sessions/session.model';
import { decodeTimer, parseDueKey, sweepTimer, watchesRoom } from '../../sessions/sweep-deadlines';
import { redisKeys } from './redis-keys';
import { isNoScript, RedisScript } from './redis-script';
import { currentLease, type LeaseHolder } from './redis-lease';
import type {
  AddOutcome,
  DueParticipant,
  NodeLoadCount,
  ParticipantView,
  ReplaceOutcome,
  RoomSidOutcome,
  SessionPlacement,
  SessionStore,
  SweepView,
} from '../../sessions/store/session-store';
import { LeaseLostError, StoreUnavailableError } from '../../sessions/store/store.errors';

/** How long a write waits for its replica (WAIT) before the answer is a 503; a replica on the LAN acks in ~1 ms. */
const REPLICA_WAIT_MS = 250;
/** With no replica, how long writes go unreplicated before the primary is asked again (a replica may have come). */
const UNREPLICATED_RECHECK_MS = 1_000;
const logger = new Logger('RedisSessionStore');
// Writes are Lua scripts: the record, its participants, the per-node index, the per-node load counters
// and the sweep's indexes change together or not at all, and a write from an instance that lost its
// lease on the session is refused (KEYS[5] / ARGV[5]: the lease key and token, '' when the caller holds
// none).
// KEYS: session, contribution, ids, loads, lease, participants, due, due-of, watched, waiting.
// ARGV: id, session JSON (no participants), node url, participants it adds to that node's load ('' while
// waiting for a node), lease token, active participants, unconfirmed invites, '1' when the sweep watches
// its room, '1' while it waits for a node, then identity / JSON / timer stamp ('' for none) / its
// duration (ms) quads.
//
// The sweep's deadlines (sweep-deadlines.ts) run on Redis's clock, not the writer's: TIMER starts a
// participant's timer at TIME + its duration, or keeps its deadline when the stamp has not changed.
// The index: KEYS due (sorted set, '<session> <identity>' by deadline) and due-of (the session's own
// entries, identity -> 'stamp|deadline'). 'previous' is the due-of entry before this write, or false.
const TIMER = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function timer(due, dueOf, id, identity, stamp, afterMs, previous)
  if stamp == '' then
    redis.call('ZREM', due, id .. ' ' .. identity)
    redis.call('HDEL', dueOf, identity)
    return
  end
  local deadline
  if previous and string.sub(previous, 1, #stamp + 1) == stamp .. '|' then
    deadline = string.sub(previous, #stamp + 2)
  else
    deadline = string.format('%.0f', now + tonumber(afterMs))
  end
  redis.call('HSET', dueOf, identity, stamp .. '|' .. deadline)
  redis.call('ZADD', due, deadline, id .. ' ' .. identity)
end
`;

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

const SAVE = new RedisScript(`${FENCE}${TIMER}
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', '${redisKeys.byNodePrefix}' .. ARGV[3], ARGV[1])
redis.call('DEL', KEYS[6])
local previous = {}
local entries = redis.call('HGETALL', KEYS[8])
for i = 1, #entries, 2 do previous[entries[i]] = entries[i + 1] end
redis.call('DEL', KEYS[8])
for i = 10, #ARGV, 4 do
  redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then
    timer(KEYS[7], KEYS[8], ARGV[1], ARGV[i], ARGV[i + 2], ARGV[i + 3], previous[ARGV[i]])
    previous[ARGV[i]] = nil
  end
end
for identity, _ in pairs(previous) do redis.call('ZREM', KEYS[7], ARGV[1] .. ' ' .. identity) end
if ARGV[8] == '1' then redis.call('SADD', KEYS[9], ARGV[1]) else redis.call('SREM', KEYS[9], ARGV[1]) end
if ARGV[9] == '1' then redis.call('SADD', KEYS[10], ARGV[1]) else redis.call('SREM', KEYS[10], ARGV[1]) end
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
for _, identity in ipairs(redis.call('HKEYS', KEYS[8])) do redis.call('ZREM', KEYS[7], ARGV[1] .. ' ' .. identity) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[6], KEYS[8])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[9], ARGV[1])
redis.call('SREM', KEYS[10], ARGV[1])
return 1
`);

// One participant more, O(1): KEYS session, contribution, loads, lease, participants, due, due-of;
// ARGV identity, JSON, the caller's lease token ('' for none), '1' when the participant counts as
// active, '1' when it is an unconfirmed invite, the most of those the session may hold (0: no limit),
// its timer stamp ('' for none) and duration, then the nodes the caller sees down. Without a lease of
// its own the caller is refused while any instance holds one: that writer has read the session and
// will rewrite it.
const ADD_PARTICIPANT = new RedisScript(`${TIMER}
if ARGV[3] ~= '' then
  if redis.call('GET', KEYS[4]) ~= ARGV[3] then return redis.error_reply('LEASE_LOST') end
elseif redis.call('EXISTS', KEYS[4]) == 1 then return 'busy' end
local json = redis.call('GET', KEYS[1])
if not json then return 'missing' end
local c = redis.call('HMGET', KEYS[2], 'url', 'counted', 'active', 'unconfirmed')
if c[2] ~= '1' then return 'waiting' end
for i = 9, #ARGV do if ARGV[i] == c[1] then return {'node-down', c[1]} end end
local session = cjson.decode(json)
local limit = tonumber(session.room.maxParticipants) or 0
if limit > 0 and tonumber(c[3] or 0) >= limit then return 'full' end
local pending = tonumber(ARGV[6])
if ARGV[5] == '1' and pending > 0 and tonumber(c[4] or 0) >= pending then return 'too-many-unconfirmed' end
if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 1 then return 'taken' end
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[2], 'unconfirmed', 1) end
if ARGV[7] ~= '' then timer(KEYS[6], KEYS[7], session.sessionId, ARGV[1], ARGV[7], ARGV[8], false) end
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[2], 'active', 1)
  redis.call('HINCRBY', KEYS[2], 'participants', 1)
  redis.call('HINCRBY', KEYS[3], c[1] .. '|participants', 1)
end
if (session.roomSid or '') == '' then return {'added', session.nodeUrl, tostring(session.generation), json} end
return {'added', session.nodeUrl, tostring(session.generation)}
`);

// One participant rewritten in place if unchanged since it was read; refused while any lease is held
// (that writer has read the session and will rewrite it). KEYS session, participants, lease,
// contribution, due, due-of; ARGV identity, the JSON as read, the new JSON, the change in unconfirmed
// invites, its timer stamp ('' for none) and duration, the session id.
const REPLACE_PARTICIPANT = new RedisScript(`${TIMER}
if redis.call('EXISTS', KEYS[3]) == 1 then return 'busy' end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 'missing' end
if current ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if ARGV[4] ~= '0' then redis.call('HINCRBY', KEYS[4], 'unconfirmed', tonumber(ARGV[4])) end
timer(KEYS[5], KEYS[6], ARGV[7], ARGV[1], ARGV[5], ARGV[6], redis.call('HGET', KEYS[6], ARGV[1]))
return 'replaced'
`);

// The room's sid written into the record in place, nothing else read or rewritten: the first field
// '"roomSid":""' is the record's own (JSON.stringify escapes every quote inside a string value, so no
// value holds that text). KEYS session, lease; ARGV generation, node URL, sid, the caller's lease token
// ('' for none: refused while any instance holds one).
const SET_ROOM_SID = new RedisScript(`
if ARGV[4] ~= '' then
  if redis.call('GET', KEYS[2]) ~= ARGV[4] then return redis.error_reply('LEASE_LOST') end
elseif redis.call('EXISTS', KEYS[2]) == 1 then return 'busy' end
local json = redis.call('GET', KEYS[1])
if not json then return 'stale' end
local session = cjson.decode(json)
if tostring(session.generation) ~= ARGV[1] or session.nodeUrl ~= ARGV[2] then return 'stale' end
local at = string.find(json, '"roomSid":""', 1, true)
if not at then return 'stale' end
redis.call('SET', KEYS[1], string.sub(json, 1, at - 1) .. '"roomSid":' .. cjson.encode(ARGV[3]) .. string.sub(json, at + 12))
return 'set'
`);

// Indexes one session as it was read, for a Redis written before the indexes existed: nothing if the
// session was written since (that write indexed it), and per participant only if unchanged since.
// KEYS session, participants, due, due-of, watched, waiting; ARGV id, the session JSON as read, '1' when
// the sweep watches its room, '1' while it waits for a node, then identity / JSON as read / timer stamp
// / duration. Its timers start now (their writers' timestamps are on other clocks): a leaver gets a
// whole grace period from the upgrade, never less.
const INDEX_SESSION = new RedisScript(`${TIMER}
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '1' then redis.call('SADD', KEYS[5], ARGV[1]) end
if ARGV[4] == '1' then redis.call('SADD', KEYS[6], ARGV[1]) end
for i = 5, #ARGV, 4 do
  if ARGV[i + 2] ~= '' and redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
    timer(KEYS[3], KEYS[4], ARGV[1], ARGV[i], ARGV[i + 2], ARGV[i + 3], redis.call('HGET', KEYS[4], ARGV[i]))
  end
end
return 1
`);

/** Written once every session stored is in the sweep's indexes. */
const INDEX_VERSION = '1';

/** Sessions indexed per round trip when a Redis written without the indexes is brought up to date. */
const INDEX_BATCH = 200;

// A participant's report of its media path lost, on Redis' clock: older reports drop out of the window,
// and the key goes with them. KEYS: the session's reports for that node. ARGV: identity, window in ms.
const LOSS_REPORT = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
`);

/**
 * Sessions in Redis, shared by every backend instance. Same semantics as the in-memory store (values
 * are copies; `save` replaces the record), plus the per-node indexes placement and the rebuild read,
 * so neither copies every session per decision.
 */
export class RedisSessionStore implements SessionStore {
  private indexed?: Promise<void>;

  private readonly replicas: number;
  private unreplicated = false;
  private unreplicatedSince = 0;

  /** `replicas`: how many replicas a write waits for (WAIT) before it is answered; 0: none (one Redis). */
  constructor(
    private readonly redis: Redis,
    { replicas = 0 }: { replicas?: number } = {},
  ) {
    this.replicas = replicas;
    // As soon as Redis answers, so a Redis with no sessions yet is marked before any is written (else
    // the first index read indexes every session written meanwhile); a failure is tried again then.
    const early = () => void this.ensureIndexed().catch(() => undefined);
    if (redis.status === 'ready') early();
    else redis.once('ready', early);
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const [session] = await this.many([sessionId]);
    return session;
  }

  async save(session: SessionRecord): Promise<void> {
    const { keys, args } = this.saveCommand(session);
    await this.write(session.sessionId, SAVE, keys, args);
  }

  async getMany(sessionIds: readonly string[]): Promise<Array<SessionRecord | undefined>> {
    const found = new Map((await this.many(sessionIds)).map((session) => [session.sessionId, session]));
    return sessionIds.map((id) => found.get(id));
  }

  /**
   * One pipeline of SAVE scripts: a herd's batch written in one round trip instead of one per session
   * (bench:scale, issue 19). A write refused by its fence fails alone; a script Redis lost (a restart
   * between two writes) is written again one by one, which sends it.
   */
  async saveMany(sessions: readonly SessionRecord[]): Promise<Array<Error | undefined>> {
    if (sessions.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const session of sessions) {
      const { keys, args } = this.saveCommand(session);
      SAVE.queue(pipeline, keys, args);
    }
    const replies = (await this.call(() => pipeline.exec())) ?? [];
    const outcomes = await Promise.all(
      sessions.map(async (session, i): Promise<Error | undefined> => {
        const error = replies[i]?.[0] ?? (replies[i] ? null : new Error('no answer in the pipeline'));
        if (!error) return undefined;
        if (isNoScript(error))
          return this.save(session).then(
            () => undefined,
            (e: unknown) => e as Error,
          );
        return this.writeError(session.sessionId, error);
      }),
    );
    // One WAIT covers every write of the pipeline (they went on this connection before it).
    if (outcomes.some((outcome) => outcome === undefined)) await this.replicated();
    return outcomes;
  }

  /** The SAVE script's keys and arguments for this record, fenced by the lease this context holds on it. */
  private saveCommand(session: SessionRecord): { keys: string[]; args: string[] } {
    const { participants, ...rest } = session;
    const active = activeParticipants(session).length;
    const load = session.waitingForNode ? '' : String(active);
    const quads = Object.entries(participants).flatMap(([identity, participant]) => [
      identity,
      JSON.stringify(participant),
      ...timerArgs(participant),
    ]);
    const unconfirmed = Object.values(participants).filter(isUnconfirmedInvite).length;
    const flags = [
      String(active),
      String(unconfirmed),
      watchesRoom(session) ? '1' : '0',
      session.waitingForNode ? '1' : '0',
    ];
    return this.writeCommand(session.sessionId, [JSON.stringify(rest), session.nodeUrl, load], [...flags, ...quads]);
  }

  async delete(sessionId: string): Promise<void> {
    const { keys, args } = this.writeCommand(sessionId, ['', '', ''], []);
    await this.write(sessionId, DELETE, keys, args);
  }

  async placement(sessionId: string): Promise<SessionPlacement | undefined> {
    const [json, active] = await this.call(() =>
      Promise.all([
        this.redis.get(redisKeys.session(sessionId)),
        this.redis.hget(redisKeys.contribution(sessionId), 'active'),
      ]),
    );
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

  async addParticipant(
    sessionId: string,
    participant: ParticipantRecord,
    downNodes: readonly string[] = [],
    maxUnconfirmed = 0,
  ): Promise<AddOutcome> {
    const lease = currentLease(sessionId);
    const keys = [
      redisKeys.session(sessionId),
      redisKeys.contribution(sessionId),
      redisKeys.loads,
      redisKeys.lease(sessionId),
      redisKeys.participants(sessionId),
      redisKeys.due,
      redisKeys.dueOf(sessionId),
    ];
    const flags = [
      participant.state === 'left' ? '0' : '1',
      isUnconfirmedInvite(participant) ? '1' : '0',
      String(maxUnconfirmed),
      ...timerArgs(participant),
    ];
    const args = [participant.identity, JSON.stringify(participant), lease?.token ?? '', ...flags, ...downNodes];
    try {
      const reply = (await ADD_PARTICIPANT.run(this.redis, keys, args)) as string | [string, string, string?, string?];
      if (typeof reply === 'string')
        return { outcome: reply as 'taken' | 'missing' | 'waiting' | 'full' | 'too-many-unconfirmed' | 'busy' };
      if (reply[0] === 'node-down') return { outcome: 'node-down', nodeUrl: reply[1] };
      await this.replicated();
      const added = { outcome: 'added' as const, nodeUrl: reply[1], generation: Number(reply[2]) };
      // The session's head, sent back while no room sid is known: its room may not exist yet.
      return reply[3] === undefined
        ? added
        : { ...added, room: (JSON.parse(reply[3]) as Pick<SessionRecord, 'room'>).room };
    } catch (error) {
      if ((error as Error).message?.includes('LEASE_LOST')) throw new LeaseLostError(sessionId);
      throw new StoreUnavailableError(error);
    }
  }

  async participantView(sessionId: string, identity: string): Promise<ParticipantView | undefined> {
    const [json, version] = await this.call(() =>
      Promise.all([
        this.redis.get(redisKeys.session(sessionId)),
        this.redis.hget(redisKeys.participants(sessionId), identity),
      ]),
    );
    if (!json || !version) return undefined;
    return {
      session: JSON.parse(json) as Omit<SessionRecord, 'participants'>,
      participant: JSON.parse(version) as ParticipantRecord,
      version,
    };
  }

  async replaceParticipant(
    sessionId: string,
    participant: ParticipantRecord,
    version: string,
  ): Promise<ReplaceOutcome> {
    const keys = [
      redisKeys.session(sessionId),
      redisKeys.participants(sessionId),
      redisKeys.lease(sessionId),
      redisKeys.contribution(sessionId),
      redisKeys.due,
      redisKeys.dueOf(sessionId),
    ];
    const unconfirmed =
      Number(isUnconfirmedInvite(participant)) - Number(isUnconfirmedInvite(JSON.parse(version) as ParticipantRecord));
    const args = [
      participant.identity,
      version,
      JSON.stringify(participant),
      String(unconfirmed),
      ...timerArgs(participant),
      sessionId,
    ];
    const outcome = (await this.call(() => REPLACE_PARTICIPANT.run(this.redis, keys, args))) as ReplaceOutcome;
    if (outcome === 'replaced') await this.replicated();
    return outcome;
  }

  async setRoomSid(
    sessionId: string,
    { generation, nodeUrl }: { generation: number; nodeUrl: string },
    sid: string,
  ): Promise<RoomSidOutcome> {
    const keys = [redisKeys.session(sessionId), redisKeys.lease(sessionId)];
    const args = [String(generation), nodeUrl, sid, currentLease(sessionId)?.token ?? ''];
    let outcome: RoomSidOutcome;
    try {
      outcome = (await SET_ROOM_SID.run(this.redis, keys, args)) as RoomSidOutcome;
    } catch (error) {
      throw this.writeError(sessionId, error);
    }
    if (outcome === 'set') await this.replicated();
    return outcome;
  }

  async list(): Promise<SessionRecord[]> {
    return this.many(await this.call(() => this.redis.smembers(redisKeys.ids)));
  }

  async recordLossReport(sessionId: string, nodeUrl: string, identity: string, windowMs: number): Promise<number> {
    const key = redisKeys.lossReports(sessionId, nodeUrl);
    return (await this.call(() => LOSS_REPORT.run(this.redis, [key], [identity, windowMs]))) as number;
  }

  async now(): Promise<number> {
    const [seconds, micros] = await this.call(() => this.redis.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async sweepView(sessionIds: readonly string[]): Promise<SweepView[]> {
    if (sessionIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of sessionIds)
      pipeline.get(redisKeys.session(id)).hgetall(redisKeys.participants(id)).hgetall(redisKeys.dueOf(id));
    const replies = (await this.call(() => pipeline.exec())) ?? [];
    const views: SweepView[] = [];
    sessionIds.forEach((id, i) => {
      const [[sessionError, json], [participantsError, fields], [dueError, timers]] = replies.slice(
        3 * i,
        3 * i + 3,
      ) as [[Error | null, unknown], [Error | null, unknown], [Error | null, unknown]];
      if (sessionError || participantsError || dueError)
        throw new StoreUnavailableError(sessionError ?? participantsError ?? dueError);
      if (typeof json !== 'string') return;
      const participants = Object.fromEntries(
        Object.entries(fields as Record<string, string>).map(([identity, p]) => [
          identity,
          JSON.parse(p) as ParticipantRecord,
        ]),
      );
      const deadlines: Record<string, number> = {};
      for (const [identity, value] of Object.entries(timers as Record<string, string>)) {
        const timer = decodeTimer(value);
        const participant = Object.hasOwn(participants, identity) ? participants[identity] : undefined;
        if (participant && sweepTimer(participant)?.stamp === timer.stamp) deadlines[identity] = timer.deadline;
      }
      views.push({
        session: { ...(JSON.parse(json) as Omit<SessionRecord, 'participants'>), participants },
        deadlines,
      });
    });
    return views;
  }

  async listWaiting(): Promise<SessionRecord[]> {
    await this.ensureIndexed();
    const sessions = await this.many(await this.call(() => this.redis.smembers(redisKeys.waiting)));
    return sessions.filter((session) => session.waitingForNode);
  }

  async dueParticipants(now: number, limit: number): Promise<DueParticipant[]> {
    await this.ensureIndexed();
    const keys = await this.call(() => this.redis.zrangebyscore(redisKeys.due, '-inf', now, 'LIMIT', 0, limit));
    return keys.map(parseDueKey);
  }

  sessionIdsOn(nodeUrl: string): Promise<string[]> {
    return this.call(() => this.redis.smembers(redisKeys.byNode(nodeUrl)));
  }

  async watchedSessionIds(): Promise<string[]> {
    await this.ensureIndexed();
    return this.call(() => this.redis.smembers(redisKeys.watched));
  }

  /**
   * A Redis written by a version without the sweep's indexes (an upgrade) has sessions none of them
   * lists: a waiting one would never be rebuilt, a leaver never forgotten. Once per Redis (a marker key),
   * every session is indexed as it stands, in batches; writes since index themselves. Until it is done,
   * each index read waits for it; a failure is tried again at the next read.
   */
  private ensureIndexed(): Promise<void> {
    this.indexed ??= this.indexAll().catch((error: unknown) => {
      this.indexed = undefined;
      throw error;
    });
    return this.indexed;
  }

  private async indexAll(): Promise<void> {
    if ((await this.call(() => this.redis.get(redisKeys.indexVersion))) === INDEX_VERSION) return;
    let cursor = (await this.call(() => this.redis.scard(redisKeys.ids))) === 0 ? 'none' : '0';
    while (cursor !== 'none') {
      const [next, ids] = await this.call(() => this.redis.sscan(redisKeys.ids, cursor, 'COUNT', INDEX_BATCH));
      cursor = next === '0' ? 'none' : next;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.get(redisKeys.session(id)).hgetall(redisKeys.participants(id));
      const replies = (await this.call(() => pipeline.exec())) ?? [];
      await Promise.all(
        ids.map((id, i) => {
          const json = replies[2 * i]?.[1];
          const fields = (replies[2 * i + 1]?.[1] ?? {}) as Record<string, string>;
          if (typeof json !== 'string') return Promise.resolve();
          const head = JSON.parse(json) as SessionRecord;
          const quads = Object.entries(fields).flatMap(([identity, p]) => [
            identity,
            p,
            ...timerArgs(JSON.parse(p) as ParticipantRecord),
          ]);
          const keys = [
            redisKeys.session(id),
            redisKeys.participants(id),
            redisKeys.due,
            redisKeys.dueOf(id),
            redisKeys.watched,
            redisKeys.waiting,
          ];
          return this.call(() =>
            INDEX_SESSION.run(this.redis, keys, [
              id,
              json,
              watchesRoom(head) ? '1' : '0',
              head.waitingForNode ? '1' : '0',
              ...quads,
            ]),
          );
        }),
      );
    }
    await this.call(() => this.redis.set(redisKeys.indexVersion, INDEX_VERSION));
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

  private async many(ids: readonly string[]): Promise<SessionRecord[]> {
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
      const participants = Object.fromEntries(
        Object.entries(fields as Record<string, string>).map(([identity, p]) => [
          identity,
          JSON.parse(p) as ParticipantRecord,
        ]),
      );
      sessions.push({ ...(JSON.parse(json) as Omit<SessionRecord, 'participants'>), participants });
    }
    return sessions;
  }

  /** A write script's keys and arguments (see SAVE), fenced by the lease this context holds on the session. */
  private writeCommand(
    sessionId: string,
    args: [json: string, nodeUrl: string, load: string],
    rest: string[],
  ): { keys: string[]; args: string[] } {
    const lease: LeaseHolder | undefined = currentLease(sessionId);
    const keys = [
      redisKeys.session(sessionId),
      redisKeys.contribution(sessionId),
      redisKeys.ids,
      redisKeys.loads,
      lease?.key ?? '',
      redisKeys.participants(sessionId),
      redisKeys.due,
      redisKeys.dueOf(sessionId),
      redisKeys.watched,
      redisKeys.waiting,
    ];
    return { keys, args: [sessionId, ...args, lease?.token ?? '', ...rest] };
  }

  private async write(sessionId: string, script: RedisScript, keys: string[], args: string[]): Promise<void> {
    try {
      await script.run(this.redis, keys, args);
    } catch (error) {
      throw this.writeError(sessionId, error);
    }
    await this.replicated();
  }

  private writeError(sessionId: string, error: unknown): Error {
    if ((error as Error).message?.includes('LEASE_LOST')) return new LeaseLostError(sessionId);
    return new StoreUnavailableError(error);
  }

  /**
   * With Sentinel: the writes so far on this connection are on `replicas` replicas before the answer
   * (WAIT), so a failover to one of them loses no write that was answered. A primary with no replica
   * left (its only one was promoted, say) cannot do better: writes go on, and that is logged once.
   */
  private async replicated(): Promise<void> {
    if (this.replicas === 0) return;
    // A WAIT holds the connection until it is answered: with no replica to answer it, every command
    // queued behind would wait out its timeout. So a primary known to have none is not asked for a while.
    if (this.unreplicated && performance.now() - this.unreplicatedSince < UNREPLICATED_RECHECK_MS) return;
    const acked = await this.call(() => this.redis.wait(this.replicas, REPLICA_WAIT_MS));
    if (acked >= this.replicas) {
      if (this.unreplicated) logger.log('writes reach a replica again');
      this.unreplicated = false;
      return;
    }
    const role = (await this.call(() => this.redis.role())) as [string, number, unknown[]?];
    if ((role[2] ?? []).length === 0) {
      if (!this.unreplicated)
        logger.warn('the primary has no replica: writes are answered without one until a replica connects');
      this.unreplicated = true;
      this.unreplicatedSince = performance.now();
      return;
    }
    throw new StoreUnavailableError(
      new Error(`the write reached ${acked} of ${this.replicas} replica(s) within ${REPLICA_WAIT_MS} ms`),
    );
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }
}

/** A participant's sweep timer as script arguments: stamp ('' for none) and duration. */
function timerArgs(participant: ParticipantRecord): [stamp: string, afterMs: string] {
  const timer = sweepTimer(participant);
  return timer ? [timer.stamp, String(timer.afterMs)] : ['', '0'];
}
