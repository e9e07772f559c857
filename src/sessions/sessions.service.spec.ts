import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { A, B, setup } from '../../test/support/rebuild-fixtures';
import type { RoomLocator } from '../nodes/room-locator';
import { TokenService } from './token.service';
import { SessionsService } from './sessions.service';
import { MemorySessionStore } from '../backplane/memory/memory-session-store';

describe(SessionsService.name, () => {
  it('a rejoin reporting its node lost is answered at least at the generation a herd committed while it ran, never with the lost node', async () => {
    // LiveKit's cluster: the room's node is read where it is now (room_node_map), not from the record.
    const stored = new MemorySessionStore();
    const locator: RoomLocator = {
      roomOutlivesNode: true,
      nodeOf: async ({ sessionId }) => (await stored.get(sessionId))?.nodeUrl,
      roomsOn: async (nodeUrl) => ((await stored.get('room-1'))?.nodeUrl === nodeUrl ? ['room-1'] : []),
      evict: async () => undefined,
    };
    const fixtures = await setup({ [A]: 'down', [B]: 'up' }, { store: stored, locator });
    const store = fixtures.store;
    const { config, clock, health, rooms, events, placement, scheduler, mover, locks } = fixtures;
    // The herd moves the session right after the rejoin's key check read it (still on A, generation 1).
    const read = store.participantView.bind(store);
    let raced = false;
    store.participantView = async (sessionId, identity) => {
      const view = await read(sessionId, identity);
      if (!raced) {
        raced = true;
        await mover.move(sessionId, A, 'node-down');
      }
      return view;
    };
    const sessions = new SessionsService(
      config,
      store,
      rooms,
      clock,
      health as never,
      placement,
      scheduler,
      mover,
      { joinsCreateRooms: async () => true },
      locator,
      new TokenService(config),
      locks,
      events,
    );
    const answer = await sessions.rejoin('room-1', 'ann', { rejoinKey: 'ann', failedUrl: A });
    assert.equal(answer.generation, 2);
    assert.equal(answer.url, B);
  });
});
