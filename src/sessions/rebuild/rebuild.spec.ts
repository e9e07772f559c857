import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { TokenVerifier } from 'livekit-server-sdk';
import { A, B, C, session, setup } from '../../../test/support/rebuild-fixtures';
import { MemorySessionStore } from '../../backplane/memory/memory-session-store';
import type { RoomLocator } from '../../nodes/room-locator';
import { RebuildScheduler, rejoinReasonFor } from './rebuild-scheduler.service';
import { CREATE_ROOM_ATTEMPTS, HERD_BATCH_SIZE, SessionMoverService } from './session-mover.service';

describe(SessionMoverService.name, () => {
  it('concurrent triggers for one session give exactly one rebuild', async () => {
    const { store, health, rooms, push, mover } = await setup({ [A]: 'down', [B]: 'up' });
    const results = await Promise.all([
      mover.move('room-1', A, 'node-down'),
      mover.move('room-1', A, 'client-report'),
      mover.move('room-1', A, 'client-report'),
    ]);
    const late = await mover.move('room-1', A, 'client-report');
    assert.equal(await mover.whenIdle(2_000), 0);
    expect(rooms.created).toEqual(['room-1@ws://b:7880']);
    for (const r of [...results, late]) assert.equal(r?.generation, 2);
    const saved = (await store.get('room-1'))!;
    assert.equal(saved.nodeUrl, B);
    assert.equal(saved.roomSid, 'RM_1');
    expect(push.rejoins.map((r) => r.identity).sort()).toEqual(['ann', 'bob']); // one push per active participant, none for who left
    assert.ok(push.rejoins.every((r) => r.url === B && r.generation === 2 && r.reason === 'node-down'));
    assert.equal(health.failures.length, 0);
  });

  it('re-mints the same identity, name, metadata and grants', async () => {
    const { config, push, mover } = await setup({ [A]: 'down', [B]: 'up' });
    await mover.move('room-1', A, 'node-down');
    const claims = await new TokenVerifier(config.apiKey, config.apiSecret).verify(
      push.rejoins.find((r) => r.identity === 'ann')!.token,
    );
    assert.equal(claims.sub, 'ann');
    assert.equal(claims.name, 'ANN');
    assert.equal(claims.metadata, '{"who":"ann"}');
    expect(claims.video).toEqual({
      roomJoin: true,
      room: 'room-1',
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
    });
    // The room's settings ride along: whoever reaches the new node first creates the room with them
    // (maxParticipants 0, the protobuf default, is left out of the claim as LiveKit's own SDKs do).
    expect(claims.roomConfig).toEqual({ emptyTimeout: 300, departureTimeout: 20, metadata: 'm' });
  });

  it('pushes before CreateRoom answers; the room sid is written once it does', async () => {
    const { rooms, push, mover, store } = await setup({ [A]: 'down', [B]: 'up' });
    let open!: () => void;
    rooms.gate = new Promise<void>((resolve) => (open = resolve));
    const result = await mover.move('room-1', A, 'node-down');
    assert.equal(result?.nodeUrl, B);
    assert.equal(push.rejoins.length, 2, 'both participants pushed while CreateRoom is still in flight');
    assert.equal(rooms.created.length, 0);
    const pending = (await store.get('room-1'))!;
    assert.equal(pending.roomSid, '');
    expect(pending.formerRoomSids).toEqual(['RM_old']);
    open();
    assert.equal(await mover.whenIdle(2_000), 0);
    assert.equal((await store.get('room-1'))!.roomSid, 'RM_1');
  });

  it('does nothing when the session already left the reported node, or the node is up', async () => {
    const { rooms, mover } = await setup({ [A]: 'up', [B]: 'up' });
    assert.equal((await mover.move('room-1', A, 'client-report'))?.generation, 1);
    assert.equal((await mover.move('room-1', B, 'node-down'))?.generation, 1);
    assert.equal(rooms.created.length, 0);
  });

  it('a target that answers CreateRoom with an error is left: the session moves again, without it', async () => {
    const { health, rooms, push, mover, store, outcomes } = await setup({ [A]: 'down', [B]: 'up', [C]: 'up' });
    rooms.answerError.add(B);
    // B first: it holds nothing, C already holds one participant.
    await store.save({
      ...session(C),
      sessionId: 'other',
      participants: { x: { ...session(C).participants.ann!, identity: 'x' } },
    });
    await mover.move('room-1', A, 'node-down');
    assert.equal(await mover.whenIdle(2_000), 0);
    const saved = (await store.get('room-1'))!;
    assert.equal(saved.nodeUrl, C);
    assert.equal(saved.generation, 3);
    expect(push.rejoins.map((r) => `${r.generation}@${r.url}`).sort()).toEqual([
      `2@${B}`,
      `2@${B}`,
      `3@${C}`,
      `3@${C}`,
    ]);
    expect(outcomes).toEqual(['rebuilt', 'failed', 'rebuilt']);
    assert.equal(health.failures.length, 0, 'a node that answers is not a failing node');
  });

  it('nodes that all answer CreateRoom with an error: each is tried once, then the session waits (no moves back and forth)', async () => {
    const { rooms, push, mover, store } = await setup({ [A]: 'down', [B]: 'up', [C]: 'up' });
    rooms.answerError.add(B).add(C);
    await mover.move('room-1', A, 'node-down');
    assert.equal(await mover.whenIdle(2_000), 0);
    const saved = (await store.get('room-1'))!;
    expect([saved.waitingForNode, saved.generation]).toEqual([true, 3]);
    // Generation 2 on one of them, 3 on the other, and nothing after.
    expect([...new Set(push.rejoins.map((r) => r.generation))]).toEqual([2, 3]);
    expect([...new Set(push.rejoins.map((r) => r.url))].sort()).toEqual([B, C].sort());
    assert.equal(push.waiting.length, 2);
  });

  it('an unreachable target is reported to the health policy; the session moves when the node is found down', async () => {
    const { health, rooms, mover, scheduler, store } = await setup({ [A]: 'down', [B]: 'up', [C]: 'up' });
    rooms.refuse.add(B);
    await store.save({
      ...session(C),
      sessionId: 'other',
      participants: { x: { ...session(C).participants.ann!, identity: 'x' } },
    });
    await mover.move('room-1', A, 'node-down');
    assert.equal(await mover.whenIdle(2_000), 0);
    // Each call that failed is reported; CreateRoom is asked again while the node is not found down.
    expect(health.failures).toEqual(Array<string>(CREATE_ROOM_ATTEMPTS).fill(B));
    assert.equal((await store.get('room-1'))!.nodeUrl, B, 'a failed call alone is no death');
    health.statuses.set(B, 'down');
    await scheduler.rebuildNode(B, 'node-down');
    const saved = (await store.get('room-1'))!;
    assert.equal(saved.nodeUrl, C);
    assert.equal(saved.generation, 3);
  });

  it('a session whose new node dies during its rebuild is rebuilt again', async () => {
    const { health, push, mover } = await setup({ [A]: 'down', [B]: 'up', [C]: 'up' }, { pauseMs: 30 });
    const first = mover.move('room-1', A, 'node-down');
    // B dies after placement chose it, before the session's record names it.
    setTimeout(() => health.statuses.set(B, 'down'), 5);
    const result = await first;
    assert.equal(result?.nodeUrl, C);
    assert.equal(result?.generation, 3);
    expect([...new Set(push.rejoins.map((r) => r.generation))]).toEqual([2, 3]);
  });

  it('no node up: waiting, one waiting-for-node push per participant; rebuilt when a node returns', async () => {
    const { health, push, mover, scheduler, store } = await setup({ [A]: 'down', [B]: 'down' });
    await mover.move('room-1', A, 'node-down');
    await mover.move('room-1', A, 'client-report');
    assert.equal((await store.get('room-1'))?.waitingForNode, true);
    assert.equal(push.waiting.length, 2, 'pushed once, not per trigger');
    health.statuses.set(B, 'up');
    await scheduler.rebuildWaiting();
    const saved = (await store.get('room-1'))!;
    assert.equal(saved.waitingForNode, false);
    assert.equal(saved.nodeUrl, B);
    assert.ok(
      push.rejoins.length === 2 && push.rejoins.every((r) => r.reason === 'node-recovered' && r.generation === 2),
    );
  });

  it('the only up node answering CreateRoom with an error: the session waits; the attempt counts as rebuilt, then failed', async () => {
    const { rooms, push, mover, store, outcomes } = await setup({ [A]: 'down', [B]: 'up' });
    rooms.answerError.add(B);
    await mover.move('room-1', A, 'node-down');
    assert.equal(await mover.whenIdle(2_000), 0);
    assert.equal((await store.get('room-1'))?.waitingForNode, true);
    assert.equal(push.waiting.length, 2);
    expect(outcomes).toEqual(['rebuilt', 'failed']);
  });
});

describe(`${RebuildScheduler.name}: herds, and sessions left on a dead node`, () => {
  it('rebuildStranded moves sessions still on a node known down that no herd is moving (a failed herd, a dead instance)', async () => {
    const { push, scheduler, store } = await setup({ [A]: 'down', [B]: 'up' });
    // Nobody ran A's herd here: it ran on an instance that died, say.
    await scheduler.rebuildStranded();
    expect(await store.get('room-1')).toMatchObject({ nodeUrl: B, generation: 2 });
    expect(push.rejoins.map((r) => r.identity).sort()).toEqual(['ann', 'bob']);
    await scheduler.rebuildStranded(); // nothing left: no second move
    expect(push.rejoins).toHaveLength(2);
  });

  it('a session another instance moved off the dead node while this herd listed it is left where it went (no second rebuild)', async () => {
    const { push, scheduler, store } = await setup({ [A]: 'down', [B]: 'up', [C]: 'up' });
    const sessionIdsOn = store.sessionIdsOn.bind(store);
    // The other instance's herd of A moves room-1 to B between this herd's read of A's rooms and its read
    // of the session (seen in test/e2e/double-faults: the second dead node's herd then moved its sessions
    // again, from the live node they had just reached).
    store.sessionIdsOn = async (url: string) => {
      const ids = await sessionIdsOn(url);
      if (url === A) await store.save({ ...session(B), generation: 2 });
      return ids;
    };
    await scheduler.rebuildNode(A, 'node-down');
    expect(await store.get('room-1')).toMatchObject({ nodeUrl: B, generation: 2 });
    expect(push.rejoins).toEqual([]);
  });

  it("a herd bigger than a batch moves each session once, spread evenly, in a few batched writes; a report meanwhile shares its session's move", async () => {
    const { push, scheduler, mover, store, rooms } = await setup({ [A]: 'down', [B]: 'up', [C]: 'up' });
    const count = HERD_BATCH_SIZE * 2 + 10;
    for (let i = 2; i <= count; i++) await store.save({ ...session(A), sessionId: `room-${i}` });
    const writes = { alone: 0, batched: 0 };
    const save = store.save.bind(store);
    const saveMany = store.saveMany.bind(store);
    store.save = (record) => (writes.alone++, save(record));
    store.saveMany = (records) => (writes.batched++, saveMany(records));
    const [, reported] = await Promise.all([
      scheduler.rebuildNode(A, 'node-down'),
      // A participant's report while the herd runs: its session moves once, and the report is answered with it.
      new Promise((resolve) => setImmediate(resolve)).then(() => mover.move('room-7', A, 'client-report')),
    ]);
    assert.equal(await mover.whenIdle(5_000), 0);
    expect(reported).toMatchObject({ sessionId: 'room-7', generation: 2 });
    const moved = await store.getMany(Array.from({ length: count }, (_, i) => `room-${i + 1}`));
    expect(moved.every((record) => record?.generation === 2 && record.nodeUrl !== A)).toBe(true);
    const onB = moved.filter((record) => record?.nodeUrl === B).length;
    expect(Math.abs(2 * onB - count)).toBeLessThanOrEqual(2);
    expect(push.rejoins).toHaveLength(2 * count); // ann and bob, once per session
    expect(new Set(push.rejoins.map((r) => r.token)).size).toBe(2 * count);
    expect(rooms.created).toHaveLength(count);
    expect(writes.batched).toBeLessThanOrEqual(Math.ceil(count / HERD_BATCH_SIZE));
    expect(writes.alone).toBeLessThanOrEqual(1 + count); // room-7's move, if alone, and each sid after CreateRoom
  });

  it("participants' reports of a node whose verdict starts its herd here cost no store read: the herd moves them", async () => {
    const { scheduler, store, health, push, mover } = await setup({ [A]: 'up', [B]: 'up' });
    let reads = 0;
    const placement = store.placement.bind(store);
    store.placement = (id) => (reads++, placement(id));
    // The node is found dead on the reports' probe: its herd starts with the verdict, as node-down's listener does.
    const herds: Array<Promise<void>> = [];
    health.verdict = (url: string) => {
      if (health.statuses.get(url) !== 'down') herds.push(scheduler.rebuildNode(url, 'client-report'));
      health.statuses.set(url, 'down');
      return Promise.resolve(health.statuses.get(url));
    };
    const reports = await Promise.all(
      ['ann', 'bob'].map((identity) =>
        scheduler
          .ensureLive('room-1', { reportedUrl: A, report: true })
          .then((moved) => moved ?? scheduler.weighLossReport('room-1', A, identity)),
      ),
    );
    expect(reports).toEqual([undefined, undefined]);
    await Promise.all(herds);
    assert.equal(await mover.whenIdle(2_000), 0);
    expect(reads).toBe(0);
    expect(await store.get('room-1')).toMatchObject({ nodeUrl: B, generation: 2 });
    expect(push.rejoins).toHaveLength(2);
  });

  it("LiveKit's cluster dying member after member: a session moved to it whose room no member holds waits for a node too", async () => {
    // The first member's herd moved room-1 to the cluster URL, and its CreateRoom failed as the last
    // member died: room_node_map names no member for it, so no member's herd lists it.
    const K = 'ws://cluster:7880';
    const store = new MemorySessionStore();
    const locator: RoomLocator = {
      roomOutlivesNode: true,
      nodeOf: async () => undefined,
      roomsOn: async () => [],
      evict: async () => undefined,
    };
    const { push, scheduler } = await setup({ [A]: 'down', [B]: 'down', [K]: 'down' }, { store, locator });
    await store.save({ ...session(K), generation: 2, roomSid: '' });
    await scheduler.onNodeDown({ url: B, transition: { from: 'up', to: 'down', reason: 'refused' }, trigger: 'loop' });
    expect(await store.get('room-1')).toMatchObject({ nodeUrl: K, generation: 2, waitingForNode: true });
    expect(push.waiting.map((w) => w.identity).sort()).toEqual(['ann', 'bob']);
    await scheduler.rebuildStranded(); // already waiting: nothing pushed again
    expect(push.waiting).toHaveLength(2);
  });

  it('a herd the store failed is tried again while its node is down, and stops once it is done', async () => {
    const { push, scheduler, store } = await setup({ [A]: 'down', [B]: 'up' });
    const sessionIdsOn = store.sessionIdsOn.bind(store);
    let failures = 2;
    store.sessionIdsOn = (url: string) =>
      failures-- > 0 ? Promise.reject(new Error('store unavailable')) : sessionIdsOn(url);
    await scheduler.rebuildNode(A, 'node-down');
    expect(push.rejoins).toEqual([]);
    const deadline = Date.now() + 5_000;
    while (push.rejoins.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await store.get('room-1')).toMatchObject({ nodeUrl: B, generation: 2 });
    expect(failures).toBe(-1); // two failed tries, one that worked, none after
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(failures).toBe(-1);
    scheduler.onModuleDestroy();
  });
});

describe(rejoinReasonFor.name, () => {
  it('names a client report only when a client reported: a failed call of ours, the loop or a peer give node-down or node-hung', () => {
    const down = { from: 'suspect', to: 'down', reason: 'refused', cause: 'refused' } as const;
    assert.equal(rejoinReasonFor(down, 'report'), 'client-report');
    assert.equal(rejoinReasonFor(down, 'call'), 'node-down');
    assert.equal(rejoinReasonFor(down, 'loop'), 'node-down');
    assert.equal(rejoinReasonFor({ ...down, cause: 'timeout' }, 'call'), 'node-hung');
  });
});
