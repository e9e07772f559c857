// The rebuild over both stores: in memory (one process) and in Redis with the per-session lease (several
// instances). What runs after a rebuild (CreateRoom, and the move off a node that refuses the room) is
// background work: it must take the lease anew, never write with the rebuild's lease after its release.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Redis from 'ioredis';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import { RedisLease } from '../../src/backplane/redis/redis-lease';
import { RedisSessionStore } from '../../src/backplane/redis/redis-session-store';
import type { SessionLease } from '../../src/sessions/session-locks';
import type { SessionStore } from '../../src/sessions/store/session-store';
import { A, B, C, session, setup } from '../support/rebuild-fixtures';
import { startRedisServer, storeClient, type RedisServer } from '../support/redis-server';

describe('rebuilds over both stores (real redis-server for the Redis one)', () => {
  let server: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    client = await storeClient(server);
  });

  afterAll(async () => {
    client?.disconnect();
    await server?.close();
  });

  const stores: Array<[string, () => Promise<{ store: SessionStore; lease?: SessionLease }>]> = [
    ['memory', async () => ({ store: new MemorySessionStore() })],
    [
      'redis',
      async () => {
        await client.flushall();
        return { store: new RedisSessionStore(client), lease: new RedisLease(client) };
      },
    ],
  ];

  describe.each(stores)('%s store', (_name, makeStore) => {
    it('the room sid of a rebuilt session is written once CreateRoom answers, with no background failure', async () => {
      const { store, mover, backgroundFailures } = await setup({ [A]: 'down', [B]: 'up' }, await makeStore());
      await mover.move('room-1', A, 'node-down');
      expect(await mover.whenIdle(5_000)).toBe(0);
      expect(backgroundFailures).toEqual([]);
      expect(await store.get('room-1')).toMatchObject({ nodeUrl: B, generation: 2, roomSid: 'RM_1' });
    });

    it('a node that answers CreateRoom with an error is left for the next one', async () => {
      const { store, rooms, push, mover, backgroundFailures } = await setup(
        { [A]: 'down', [B]: 'up', [C]: 'up' },
        await makeStore(),
      );
      rooms.answerError.add(B);
      // B first: it holds nothing, C already holds one participant.
      await store.save({
        ...session(C),
        sessionId: 'other',
        participants: { x: { ...session(C).participants.ann!, identity: 'x' } },
      });
      await mover.move('room-1', A, 'node-down');
      expect(await mover.whenIdle(5_000)).toBe(0);
      expect(backgroundFailures).toEqual([]);
      expect(await store.get('room-1')).toMatchObject({
        nodeUrl: C,
        generation: 3,
        waitingForNode: false,
        roomSid: 'RM_1',
      });
      expect(push.rejoins.map((r) => `${r.generation}@${r.url}`).sort()).toEqual([
        `2@${B}`,
        `2@${B}`,
        `3@${C}`,
        `3@${C}`,
      ]);
    });

    it('the only node up refusing the room: the session waits for a node instead of staying on it', async () => {
      const { store, rooms, push, mover, backgroundFailures } = await setup(
        { [A]: 'down', [B]: 'up' },
        await makeStore(),
      );
      rooms.answerError.add(B);
      await mover.move('room-1', A, 'node-down');
      expect(await mover.whenIdle(5_000)).toBe(0);
      expect(backgroundFailures).toEqual([]);
      expect(await store.get('room-1')).toMatchObject({ waitingForNode: true, generation: 2 });
      expect(push.waiting.map((w) => w.identity).sort()).toEqual(['ann', 'bob']);
    });

    it('a herd of sessions on a refusing node, more than CreateRoom runs at once: every one leaves it', async () => {
      const { store, rooms, mover, scheduler, backgroundFailures } = await setup(
        { [A]: 'down', [B]: 'up', [C]: 'up' },
        await makeStore(),
      );
      rooms.answerError.add(B);
      // Enough on C that B is chosen first for all of them.
      await store.save({
        ...session(C),
        sessionId: 'big',
        participants: Object.fromEntries(
          Array.from({ length: 60 }, (_, i) => [`p${i}`, { ...session(C).participants.ann!, identity: `p${i}` }]),
        ),
      });
      const ids = Array.from({ length: 20 }, (_, i) => `herd-${i}`);
      for (const sessionId of ids) await store.save({ ...session(A), sessionId });
      await scheduler.rebuildNode(A, 'node-down');
      expect(await mover.whenIdle(10_000)).toBe(0);
      expect(backgroundFailures).toEqual([]);
      for (const sessionId of ['room-1', ...ids])
        expect(await store.get(sessionId)).toMatchObject({ nodeUrl: C, waitingForNode: false });
    });
  });

  it('the room sid is still written when another instance holds the session as CreateRoom answers: once that holder lets go', async () => {
    await client.flushall();
    const { store, rooms, mover, backgroundFailures } = await setup(
      { [A]: 'down', [B]: 'up' },
      { store: new RedisSessionStore(client), lease: new RedisLease(client) },
    );
    let open!: () => void;
    rooms.gate = new Promise<void>((resolve) => (open = resolve));
    await mover.move('room-1', A, 'node-down');
    // Another instance takes the session's lease while CreateRoom is in flight.
    let release!: () => void;
    const elsewhere = new RedisLease(client).run('room-1', () => new Promise<void>((resolve) => (release = resolve)));
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await store.get('room-1'))!.roomSid).toBe('');
    } finally {
      release();
    }
    await elsewhere;
    expect(await mover.whenIdle(5_000)).toBe(0);
    expect(backgroundFailures).toEqual([]);
    expect(await store.get('room-1')).toMatchObject({ nodeUrl: B, generation: 2, roomSid: 'RM_1' });
  });
});
