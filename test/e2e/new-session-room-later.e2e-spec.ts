// A new session is answered as soon as it is stored where its node's joins create rooms (LiveKit's
// room.auto_create): the first participant's token creates the room, CreateRoom follows for its sid. A
// node whose joins do not create rooms still gets CreateRoom before the answer, and a node that refuses
// the room after the answer loses the session to another, its participants pushed there.
import { afterEach, describe, expect, it } from '@jest/globals';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import { startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { connect, join } from '../support/session-client';
import { waitForValue } from '../support/wait-for-value';

const A = 'ws://127.0.0.11:7880';
const B = 'ws://127.0.0.12:7880';
/** How long each scripted CreateRoom takes here: far longer than a join's own work. */
const CREATE_ROOM_MS = 800;

describe('new sessions and CreateRoom', () => {
  let stack: InProcessApp | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  async function start(autoCreate: string[]) {
    const store = new MemorySessionStore();
    stack = await startInProcessApp({ store });
    for (const url of [A, B]) stack.nodes.createDelayMs.set(url, CREATE_ROOM_MS);
    for (const url of autoCreate) stack.nodes.autoCreate.add(url);
    // Both nodes hold nothing: the first session goes to A (the first of two equally loaded nodes).
    return { stack, store };
  }

  async function timedJoin(url: string, sessionId: string) {
    const started = performance.now();
    const joined = await join(url, sessionId, 'Ann');
    return { joined, ms: performance.now() - started };
  }

  it('joins that create rooms: answered before CreateRoom returns, whose sid reaches the record after', async () => {
    const { stack, store } = await start([A, B]);
    const { joined, ms } = await timedJoin(stack.url, 'quick');
    expect(ms).toBeLessThan(CREATE_ROOM_MS / 2);
    expect((await store.get('quick'))?.roomSid).toBe('');
    await waitForValue(async () => ((await store.get('quick'))?.roomSid ? true : undefined), 5_000);
    const record = await store.get('quick');
    expect(record).toMatchObject({ nodeUrl: joined.url, generation: 1 });
    expect(record?.roomSid).toBe(stack.nodes.rooms.get(joined.url)?.get('quick')?.sid);
    expect(stack.nodes.createCalls).toBe(1);
    console.log(
      `new session, joins create rooms: answered in ${Math.round(ms)} ms (CreateRoom takes ${CREATE_ROOM_MS} ms)`,
    );
  });

  it('joins that do not create rooms (room.auto_create off): CreateRoom before the answer, as before', async () => {
    const { stack, store } = await start([]);
    const { ms } = await timedJoin(stack.url, 'careful');
    expect(ms).toBeGreaterThanOrEqual(CREATE_ROOM_MS);
    expect((await store.get('careful'))?.roomSid).toMatch(/^RM_/);
    console.log(`new session, joins do not create rooms: answered in ${Math.round(ms)} ms`);
  });

  it('a node that refuses the room after the answer: the session moves, its participants pushed (room-refused)', async () => {
    const { stack, store } = await start([A, B]);
    stack.nodes.refusesRooms.add(A);
    const ann = await join(stack.url, 'refused', 'Ann');
    expect(ann.url).toBe(A);
    const socket = await connect(stack.url, ann);
    try {
      const moved = await socket.nextRejoin(2, 10_000);
      expect(moved).toMatchObject({ url: B, generation: 2, reason: 'room-refused' });
      await waitForValue(async () => ((await store.get('refused'))?.roomSid ? true : undefined), 5_000);
      expect(await store.get('refused')).toMatchObject({ nodeUrl: B, generation: 2 });
      // The next new session does not go to the node that refused (it is not down: only this session avoids it).
      const bob = await join(stack.url, 'refused', 'Bob');
      expect(bob.url).toBe(B);
    } finally {
      socket.close();
    }
  });
});
