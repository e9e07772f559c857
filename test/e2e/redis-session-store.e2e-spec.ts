// The Redis store against a real redis-server, side by side with the in-memory store it must behave
// like: the same answers for the same writes, per-node load kept by the writes themselves, and writes
// fenced by the session's lease.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Redis from 'ioredis';
import { INVITE_CONFIRM_MS, PARTICIPANT_LEFT_GRACE_MS } from '../../src/sessions/session-policy';
import type { ParticipantRecord, SessionRecord } from '../../src/sessions/session.model';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import { redisKeys } from '../../src/backplane/redis/redis-keys';
import { RedisLease } from '../../src/backplane/redis/redis-lease';
import { BUSY_ELSEWHERE } from '../../src/sessions/session-locks';
import { RedisSessionStore } from '../../src/backplane/redis/redis-session-store';
import type { SessionStore } from '../../src/sessions/store/session-store';
import { LeaseLostError, StoreUnavailableError } from '../../src/sessions/store/store.errors';
import { startRedisServer, storeClient, type RedisServer } from '../support/redis-server';

/** What the sweep and the rebuild read from the indexes, in a comparable order. */
async function indexes(store: SessionStore) {
  const sorted = (ids: string[]) => [...ids].sort();
  return {
    due: (await store.dueParticipants(Number.MAX_SAFE_INTEGER, 1_000))
      .map((d) => `${d.sessionId}/${d.identity}`)
      .sort(),
    watched: sorted(await store.watchedSessionIds()),
    waiting: (await store.listWaiting()).map((s) => s.sessionId).sort(),
    onNodes: await Promise.all(['ws://n1', 'ws://n2'].map(async (url) => sorted(await store.sessionIdsOn(url)))),
  };
}

function session(id: string, nodeUrl: string, people: string[], extra: Partial<SessionRecord> = {}): SessionRecord {
  const participants = Object.fromEntries(
    people.map((identity, i) => [
      identity,
      {
        identity,
        name: identity,
        metadata: '',
        grants: { canPublish: true, canSubscribe: true, canPublishData: true },
        rejoinKeyHash: 'h',
        state: i === 0 && people.length > 2 ? ('left' as const) : ('joined' as const),
        invitedAt: 1,
      },
    ]),
  );
  return {
    sessionId: id,
    room: { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 0 },
    nodeUrl,
    roomSid: 'RM_x',
    generation: 1,
    waitingForNode: false,
    createdAt: 1,
    participants,
    ...extra,
  };
}

describe('RedisSessionStore (real redis-server) against MemorySessionStore', () => {
  let server: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    client = await storeClient(server);
  });

  afterAll(async () => {
    // disconnect, not quit: after the outage test the client may still be reconnecting, and a quit
    // that fails then would leave it retrying for ever.
    client?.disconnect();
    await server?.close();
  });

  it('answers like the in-memory store through a sequence of writes, loads included', async () => {
    const memory = new MemorySessionStore();
    const redis = new RedisSessionStore(client);
    const writes: Array<(store: MemorySessionStore | RedisSessionStore) => Promise<void>> = [
      (s) => s.save(session('a', 'ws://n1', ['x', 'y'])),
      (s) => s.save(session('b', 'ws://n1', ['gone', 'p', 'q'])), // one of three has left: 2 count
      (s) => s.save(session('c', 'ws://n2', ['z'])),
      (s) => s.save(session('a', 'ws://n2', ['x', 'y'], { generation: 2 })), // moved
      (s) => s.save(session('c', 'ws://n2', ['z'], { waitingForNode: true })), // counts nowhere
      (s) => s.addParticipant('a', session('x', 'ws://n2', ['added']).participants['added']!).then(() => undefined),
      (s) => s.addParticipant('a', session('x', 'ws://n2', ['added']).participants['added']!).then(() => undefined), // taken: no change
      (s) => s.addParticipant('c', session('x', 'ws://n2', ['late']).participants['late']!).then(() => undefined), // waiting: counts nowhere
      (s) => s.delete('b'),
      (s) => s.delete('missing'),
    ];
    for (const write of writes) {
      await write(memory);
      await write(redis);
      const sorted = (list: SessionRecord[]) => list.sort((l, r) => l.sessionId.localeCompare(r.sessionId));
      expect(sorted(await redis.list())).toEqual(sorted(await memory.list()));
      for (const url of ['ws://n1', 'ws://n2'])
        expect((await redis.sessionIdsOn(url)).sort()).toEqual((await memory.sessionIdsOn(url)).sort());
      expect(await redis.loadByNode()).toEqual(await memory.loadByNode());
      for (const id of ['a', 'b', 'c', 'missing'])
        expect(await redis.placement(id)).toEqual(await memory.placement(id));
      expect(await indexes(redis)).toEqual(await indexes(memory));
    }
    const newcomer = (identity: string) => session('x', 'ws://n2', [identity]).participants[identity]!;
    for (const store of [redis, memory]) {
      expect(await store.addParticipant('a', newcomer('added'))).toEqual({ outcome: 'taken' });
      expect(await store.addParticipant('missing', newcomer('nobody'))).toEqual({ outcome: 'missing' });
      expect(await store.addParticipant('c', newcomer('later'))).toEqual({ outcome: 'waiting' });
      expect((await store.placement('a'))?.activeParticipants).toBe(3);
      await store.save(
        session('full', 'ws://n1', ['one'], {
          room: { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 1 },
        }),
      );
      expect(await store.addParticipant('full', newcomer('two'))).toEqual({ outcome: 'full' });
      // A node the caller sees down: refused with the node named, so the caller rebuilds first.
      expect(await store.addParticipant('a', newcomer('early'), ['ws://n3', 'ws://n2'])).toEqual({
        outcome: 'node-down',
        nodeUrl: 'ws://n2',
      });
      expect(await store.addParticipant('a', newcomer('early'), ['ws://n1'])).toEqual({
        outcome: 'added',
        nodeUrl: 'ws://n2',
        generation: 2,
      });
      expect(await store.addParticipant('a', newcomer('fresh'))).toEqual({
        outcome: 'added',
        nodeUrl: 'ws://n2',
        generation: 2,
      });
    }
    // Another writer's lease: a lock-free add is refused, and nothing changes.
    await client.set(redisKeys.lease('a'), 'someone-else');
    expect(await redis.addParticipant('a', newcomer('meanwhile'))).toEqual({ outcome: 'busy' });
    await client.del(redisKeys.lease('a'));
    expect(Object.keys((await redis.get('a'))!.participants)).not.toContain('meanwhile');
    expect(await redis.get('a')).toEqual(await memory.get('a'));
    expect(await redis.get('missing')).toBeUndefined();
  });

  it('replaces one participant in place, like the in-memory store: only if unchanged since read, never while a writer holds the session', async () => {
    const memory = new MemorySessionStore();
    const redisStore = new RedisSessionStore(client);
    for (const store of [memory, redisStore]) {
      await store.save(session('presence', 'ws://n1', ['a', 'b']));
      const view = (await store.participantView('presence', 'b'))!;
      expect([view.session.roomSid, view.participant.identity, view.participant.state]).toEqual([
        'RM_x',
        'b',
        'joined',
      ]);
      expect(await store.participantView('presence', 'nobody')).toBeUndefined();
      const leaving = { ...view.participant, state: 'leaving' as const, leftAt: 5 };
      expect(await store.replaceParticipant('presence', leaving, view.version)).toBe('replaced');
      // A second writer that read before the first wrote is told to read again.
      expect(await store.replaceParticipant('presence', { ...view.participant, joinedAt: 7 }, view.version)).toBe(
        'changed',
      );
      const after = (await store.get('presence'))!;
      expect([after.participants.b?.state, after.participants.b?.leftAt, after.participants.a?.state]).toEqual([
        'leaving',
        5,
        'joined',
      ]);
      expect(await store.replaceParticipant('gone', leaving, view.version)).toBe('missing');
    }
    expect(await memory.get('presence')).toEqual(await redisStore.get('presence'));
    // While an instance holds the session's lease (it has read the session and will rewrite it).
    const lease = new RedisLease(client);
    let release!: () => void;
    const held = lease.run('presence', () => new Promise<void>((resolve) => (release = resolve)));
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const view = (await redisStore.participantView('presence', 'a'))!;
      expect(
        await redisStore.replaceParticipant('presence', { ...view.participant, state: 'leaving' }, view.version),
      ).toBe('busy');
    } finally {
      release();
    }
    await held;
    expect((await redisStore.get('presence'))!.participants.a?.state).toBe('joined');
  });

  it('caps unconfirmed invites like the in-memory store, their count kept by every write', async () => {
    const invited = (identity: string, joinedAt?: number) => ({
      ...session('x', 'ws://n1', [identity]).participants[identity]!,
      state: 'invited' as const,
      joinedAt,
    });
    for (const store of [new MemorySessionStore(), new RedisSessionStore(client)]) {
      // Two first invites never seen, one re-invite of someone seen before (a rebuild's), one joined.
      const record = session('pending', 'ws://n1', ['joined']);
      Object.assign(record.participants, { a: invited('a'), b: invited('b'), seen: invited('seen', 3) });
      await store.save(record);
      expect(await store.addParticipant('pending', invited('c'), [], 3)).toMatchObject({ outcome: 'added' });
      expect(await store.addParticipant('pending', invited('d'), [], 3)).toEqual({ outcome: 'too-many-unconfirmed' });
      expect(await store.addParticipant('pending', invited('d'), [], 0)).toMatchObject({ outcome: 'added' }); // 0: no cap
      expect(
        await store.addParticipant('pending', session('x', 'ws://n1', ['e']).participants['e']!, [], 1),
      ).toMatchObject({ outcome: 'added' }); // not an invite
      // A webhook confirms one of the four: one place more.
      const view = (await store.participantView('pending', 'a'))!;
      expect(
        await store.replaceParticipant('pending', { ...view.participant, state: 'joined', joinedAt: 9 }, view.version),
      ).toBe('replaced');
      expect(await store.addParticipant('pending', invited('f'), [], 4)).toMatchObject({ outcome: 'added' });
      expect(await store.addParticipant('pending', invited('g'), [], 4)).toEqual({ outcome: 'too-many-unconfirmed' });
      // A save (the sweep forgetting them) counts again from the record.
      const saved = (await store.get('pending'))!;
      for (const id of ['b', 'c', 'd']) delete saved.participants[id];
      await store.save(saved);
      expect(await store.addParticipant('pending', invited('g'), [], 2)).toMatchObject({ outcome: 'added' });
      expect(await store.addParticipant('pending', invited('h'), [], 2)).toEqual({ outcome: 'too-many-unconfirmed' });
      await store.delete('pending');
    }
  });

  it("a join into a session whose room sid is not known yet answers the room's settings (its token creates the room), none once it is", async () => {
    const settings = {
      metadata: 'm',
      emptyTimeoutSec: 60,
      departureTimeoutSec: 5,
      maxParticipants: 8,
      agents: ['echo'],
    };
    const newcomer = (identity: string) => session('x', 'ws://n1', [identity]).participants[identity]!;
    for (const store of [new MemorySessionStore(), new RedisSessionStore(client)]) {
      await store.save(session('fresh', 'ws://n1', ['ann'], { roomSid: '', room: settings }));
      expect(await store.addParticipant('fresh', newcomer('bob'))).toEqual({
        outcome: 'added',
        nodeUrl: 'ws://n1',
        generation: 1,
        room: settings,
      });
      const confirmed = (await store.get('fresh'))!;
      await store.save({ ...confirmed, roomSid: 'RM_fresh' });
      expect(await store.addParticipant('fresh', newcomer('cy'))).toEqual({
        outcome: 'added',
        nodeUrl: 'ws://n1',
        generation: 1,
      });
      await store.delete('fresh');
    }
  });

  it("writes a room's sid in place like the in-memory store: only at the generation and node it was made for, never over a sid, refused while a writer holds the session", async () => {
    // A metadata holding the field's own text: only the record's field is written.
    const room = { metadata: '{"roomSid":""}', emptyTimeoutSec: 60, departureTimeoutSec: 5, maxParticipants: 8 };
    const redisStore = new RedisSessionStore(client);
    for (const store of [new MemorySessionStore(), redisStore]) {
      const created = session('sid', 'ws://n1', ['ann', 'bob'], { roomSid: '', room, generation: 2 });
      await store.save(created);
      expect(await store.setRoomSid('sid', { generation: 1, nodeUrl: 'ws://n1' }, 'RM_old')).toBe('stale');
      expect(await store.setRoomSid('sid', { generation: 2, nodeUrl: 'ws://n2' }, 'RM_other')).toBe('stale');
      expect(await store.setRoomSid('gone', { generation: 2, nodeUrl: 'ws://n1' }, 'RM_gone')).toBe('stale');
      expect(await store.setRoomSid('sid', { generation: 2, nodeUrl: 'ws://n1' }, 'RM_"new"')).toBe('set');
      expect(await store.get('sid')).toEqual({ ...created, roomSid: 'RM_"new"' });
      expect(await store.setRoomSid('sid', { generation: 2, nodeUrl: 'ws://n1' }, 'RM_again')).toBe('stale');
      expect((await store.get('sid'))!.roomSid).toBe('RM_"new"');
      // Joins no longer carry the room's settings: its room exists.
      const newcomer = session('x', 'ws://n1', ['cy']).participants.cy!;
      expect(await store.addParticipant('sid', newcomer)).toEqual({
        outcome: 'added',
        nodeUrl: 'ws://n1',
        generation: 2,
      });
      await store.delete('sid');
    }
    // While an instance holds the session's lease (it has read the session and will rewrite it); the
    // holder itself writes.
    await redisStore.save(session('sid', 'ws://n1', ['ann'], { roomSid: '' }));
    const lease = new RedisLease(client);
    let release!: () => void;
    const held = lease.run('sid', async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return redisStore.setRoomSid('sid', { generation: 1, nodeUrl: 'ws://n1' }, 'RM_holder');
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await redisStore.setRoomSid('sid', { generation: 1, nodeUrl: 'ws://n1' }, 'RM_free')).toBe('busy');
      expect((await redisStore.get('sid'))!.roomSid).toBe('');
    } finally {
      // A failed expectation must not leave the lease held (its renewal would keep Jest from exiting).
      release();
    }
    expect(await held).toBe('set');
    expect((await redisStore.get('sid'))!.roomSid).toBe('RM_holder');
    await redisStore.delete('sid');
  });

  it("keeps the sweep's indexes like the in-memory store: deadlines on the store's clock by participant state, watched rooms, waiting sessions", async () => {
    const person = (identity: string, extra: Partial<ParticipantRecord>) => ({
      ...session('x', 'ws://n1', [identity]).participants[identity]!,
      ...extra,
    });
    await client.flushdb(); // the sessions of the tests above
    for (const store of [new MemorySessionStore(), new RedisSessionStore(client)]) {
      const record = session('idx', 'ws://n1', [], { seenOccupied: true });
      // Timestamps from a writer whose clock is a year off: the deadlines do not depend on them.
      const yearOff = Date.now() - 365 * 24 * 3_600_000;
      record.participants = {
        joined: person('joined', { state: 'joined', joinedAt: yearOff }),
        invited: person('invited', { state: 'invited', invitedAt: yearOff }),
        keyless: person('keyless', {
          state: 'invited',
          invitedAt: yearOff,
          rejoinKeyHash: '',
          expiresAt: yearOff + 600_000,
        }),
        leaving: person('leaving', { state: 'leaving', leftAt: yearOff }),
      };
      const before = await store.now();
      await store.save(record);
      const after = await store.now();
      const at = async (now: number) =>
        (await store.dueParticipants(now, 100)).map((d) => `${d.sessionId}/${d.identity}`);
      const deadlines = async () => (await store.sweepView(['idx']))[0]!.deadlines;
      expect(await at(before + PARTICIPANT_LEFT_GRACE_MS - 1)).toEqual([]);
      expect(await at(after + PARTICIPANT_LEFT_GRACE_MS)).toEqual(['idx/leaving']);
      expect((await at(after + INVITE_CONFIRM_MS)).sort()).toEqual(['idx/invited', 'idx/keyless', 'idx/leaving']);
      expect(await at(after + INVITE_CONFIRM_MS)).toHaveLength(3); // reading changes nothing
      expect(Object.keys(await deadlines()).sort()).toEqual(['invited', 'keyless', 'leaving']);
      expect(await store.watchedSessionIds()).toEqual([]);
      // A save that keeps a participant's timer keeps its deadline (a rebuild does not extend a grace
      // period); a new invite starts its timer again.
      const first = await deadlines();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const resaved = (await store.get('idx'))!;
      resaved.participants.invited!.invitedAt = yearOff + 1;
      await store.save(resaved);
      const second = await deadlines();
      expect([second.leaving, second.keyless]).toEqual([first.leaving, first.keyless]);
      expect(second.invited).toBeGreaterThan(first.invited!);
      // A presence webhook confirms the invite: no longer due. A newcomer is.
      const view = (await store.participantView('idx', 'invited'))!;
      expect(
        await store.replaceParticipant('idx', { ...view.participant, state: 'joined', joinedAt: 9 }, view.version),
      ).toBe('replaced');
      expect(await store.addParticipant('idx', person('newcomer', { state: 'invited', invitedAt: 500 }))).toMatchObject(
        { outcome: 'added' },
      );
      expect((await at(Number.MAX_SAFE_INTEGER)).sort()).toEqual(['idx/keyless', 'idx/leaving', 'idx/newcomer']);
      // A save replaces them all: the leaver forgotten, the room reported empty, the session waiting.
      const saved = (await store.get('idx'))!;
      delete saved.participants.leaving;
      Object.assign(saved, { emptySince: 7, waitingForNode: true });
      await store.save(saved);
      expect((await at(Number.MAX_SAFE_INTEGER)).sort()).toEqual(['idx/keyless', 'idx/newcomer']);
      expect([
        await store.watchedSessionIds(),
        (await store.listWaiting()).map((s) => s.sessionId),
        await store.sessionIdsOn('ws://n1'),
      ]).toEqual([['idx'], ['idx'], ['idx']]);
      await store.delete('idx');
      expect([
        await at(Number.MAX_SAFE_INTEGER),
        await store.watchedSessionIds(),
        await store.listWaiting(),
        await store.sessionIdsOn('ws://n1'),
      ]).toEqual([[], [], [], []]);
    }
    // Nothing of the session left behind in Redis.
    expect(await client.keys('sr:*idx*')).toEqual([]);
  });

  it('indexes, once, the sessions a version without the indexes wrote: a waiting session is found, a leaver comes due', async () => {
    await client.flushdb();
    // As the previous version's SAVE left them: the record, its participants, the session set, nothing else.
    const { participants, ...head } = session('old', 'ws://n1', ['x', 'y'], {
      waitingForNode: true,
      seenOccupied: true,
    });
    participants.y = { ...participants.y!, state: 'leaving', leftAt: 5 };
    await client.set(redisKeys.session('old'), JSON.stringify(head));
    for (const [identity, p] of Object.entries(participants))
      await client.hset(redisKeys.participants('old'), identity, JSON.stringify(p));
    await client.sadd(redisKeys.ids, 'old');
    const store = new RedisSessionStore(client);
    expect((await store.listWaiting()).map((s) => s.sessionId)).toEqual(['old']);
    // Its grace period runs from now (the leftAt an instance wrote is on that instance's clock).
    expect(await store.dueParticipants(Number.MAX_SAFE_INTEGER, 10)).toEqual([{ sessionId: 'old', identity: 'y' }]);
    expect((await store.sweepView(['old']))[0]!.deadlines.y).toBeGreaterThanOrEqual(
      (await store.now()) + PARTICIPANT_LEFT_GRACE_MS - 1_000,
    );
    expect(await client.get(redisKeys.indexVersion)).toBe('1');
    // Once: a session written the old way after that is not looked for again by this or another instance.
    await client.sadd(redisKeys.ids, 'later');
    await client.set(redisKeys.session('later'), JSON.stringify({ ...head, sessionId: 'later' }));
    expect((await new RedisSessionStore(client).listWaiting()).map((s) => s.sessionId)).toEqual(['old']);
  });

  it('refuses a write from a holder whose lease ran out, and lets the new holder write', async () => {
    const store = new RedisSessionStore(client);
    const lease = new RedisLease(client);
    await expect(
      lease.run('fenced', async () => {
        await store.save(session('fenced', 'ws://n1', ['x'])); // held: written
        await client.set(redisKeys.lease('fenced'), 'another-instance'); // as if it expired and another took it
        await store.save(session('fenced', 'ws://n1', ['x'], { generation: 9 }));
      }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect((await store.get('fenced'))?.generation).toBe(1);
    await client.del(redisKeys.lease('fenced'));
    await lease.run('fenced', () => store.save(session('fenced', 'ws://n1', ['x'], { generation: 2 })));
    expect((await store.get('fenced'))?.generation).toBe(2);
  });

  it('one holder at a time: a second run waits for the first', async () => {
    const lease = new RedisLease(client);
    const order: string[] = [];
    const first = lease.run('queue', async () => {
      order.push('first in');
      await new Promise((resolve) => setTimeout(resolve, 300));
      order.push('first out');
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await lease.run('queue', async () => {
      order.push('second in');
    });
    await first;
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('never reuses a released lease: work started inside a run and running after it takes a lease of its own', async () => {
    const store = new RedisSessionStore(client);
    const lease = new RedisLease(client);
    await lease.run('later', () => store.save(session('later', 'ws://n1', ['x'])));
    let startLater!: () => void;
    const gate = new Promise<void>((resolve) => (startLater = resolve));
    let queued!: Promise<void>;
    await lease.run('later', async () => {
      // Inherits this run's context, and runs once the run is over and its lease released.
      queued = gate.then(() =>
        lease.run('later', () => store.save(session('later', 'ws://n1', ['x'], { generation: 2 }))),
      );
    });
    startLater();
    await queued;
    expect((await store.get('later'))?.generation).toBe(2);
  });

  it('runIfFree skips, without running its work, a session another holder has, and runs once it is free', async () => {
    const other = new RedisLease(client);
    const lease = new RedisLease(client);
    let release!: () => void;
    const held = other.run('herd', () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    let ran = 0;
    const started = Date.now();
    expect(await lease.runIfFree('herd', async () => ++ran)).toBe(BUSY_ELSEWHERE);
    expect(Date.now() - started).toBeLessThan(200); // did not wait for the holder
    expect(ran).toBe(0);
    release();
    await held;
    expect(await lease.runIfFree('herd', async () => ++ran)).toBe(1);
  });

  it("writes a herd's batch in one go (saveMany) as a save each would, and reads it back in one (getMany), like the in-memory store", async () => {
    const memory = new MemorySessionStore();
    const redis = new RedisSessionStore(client);
    for (const store of [memory, redis]) {
      await store.save(session('batch-a', 'ws://n1', ['x', 'y']));
      await store.save(session('batch-b', 'ws://n1', ['gone', 'p', 'q']));
    }
    const moved = [
      session('batch-a', 'ws://n2', ['x', 'y'], { generation: 2, roomSid: '' }),
      session('batch-b', 'ws://n2', ['gone', 'p', 'q'], { generation: 2, roomSid: '' }),
      session('batch-c', 'ws://n2', ['z'], { waitingForNode: true }),
    ];
    for (const store of [memory, redis]) expect(await store.saveMany(moved)).toEqual([undefined, undefined, undefined]);
    const ids = ['batch-b', 'gone-for-good', 'batch-a', 'batch-c'];
    expect(await redis.getMany(ids)).toEqual(await memory.getMany(ids));
    expect(await redis.getMany(ids)).toEqual([moved[1], undefined, moved[0], moved[2]]);
    // The indexes and loads the writes keep: each session counted once, on its new node.
    for (const url of ['ws://n1', 'ws://n2'])
      expect((await redis.sessionIdsOn(url)).filter((id) => id.startsWith('batch-')).sort()).toEqual(
        (await memory.sessionIdsOn(url)).sort(),
      );
    const batchLoad = (loads: Map<string, unknown>) => loads.get('ws://n2');
    expect(batchLoad(await memory.loadByNode())).toEqual({ sessions: 2, participants: 4 });
    expect((await redis.placement('batch-b'))?.activeParticipants).toBe(2);
    expect(await redis.saveMany([])).toEqual([]);
    expect(await redis.getMany([])).toEqual([]);
    for (const id of ['batch-a', 'batch-b', 'batch-c']) await redis.delete(id);
  });

  it('a batch write refuses, alone, the session whose lease another holder took; the others are written', async () => {
    const store = new RedisSessionStore(client);
    const lease = new RedisLease(client);
    await store.save(session('fence-a', 'ws://n1', ['x']));
    await store.save(session('fence-b', 'ws://n1', ['y']));
    const outcomes = await lease.runEachIfFree(['fence-a', 'fence-b'], async (free) => {
      expect([...free].sort()).toEqual(['fence-a', 'fence-b']);
      await client.set(redisKeys.lease('fence-b'), 'another-instance'); // as if it expired and another took it
      return store.saveMany([
        session('fence-a', 'ws://n2', ['x'], { generation: 2 }),
        session('fence-b', 'ws://n2', ['y'], { generation: 2 }),
      ]);
    });
    expect(outcomes[0]).toBeUndefined();
    expect(outcomes[1]).toBeInstanceOf(LeaseLostError);
    expect((await store.get('fence-a'))?.generation).toBe(2);
    expect((await store.get('fence-b'))?.generation).toBe(1);
    await client.del(redisKeys.lease('fence-b'));
  });

  it("runEachIfFree takes a batch's free leases at once, leaves those another holder has, and releases its own after", async () => {
    const other = new RedisLease(client);
    const lease = new RedisLease(client);
    let release!: () => void;
    const held = other.run('each-b', () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const free = await lease.runEachIfFree(['each-a', 'each-b', 'each-c', 'each-a'], async (got) => {
      // Held for the work: a writer elsewhere (outside this context's leases) is kept out.
      expect(await other.detached(() => other.runIfFree('each-a', async () => 'ran'))).toBe(BUSY_ELSEWHERE);
      return [...got].sort();
    });
    expect(Date.now() - started).toBeLessThan(500); // did not wait for the holder of each-b
    expect(free).toEqual(['each-a', 'each-c']);
    // Released after the work (not waited for): free at the next command on this connection.
    expect(await client.exists(redisKeys.lease('each-a'), redisKeys.lease('each-c'))).toBe(0);
    release();
    await held;
  });

  it('answers StoreUnavailableError at once while Redis is down', async () => {
    const store = new RedisSessionStore(client);
    await server.stop();
    const started = Date.now();
    await expect(store.get('a')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(1_000);
    await server.start();
  });
});
