// A participant who leaves for good keeps no socket: it could still send reports (media-lost) for a
// session it is no longer in. The app runs in this process over scripted nodes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { api, connect, join, type ConnectedParticipant } from '../support/session-client';

const CLOSED_WITHIN_MS = 1_000;

/** Resolves with the disconnect's reason; rejects if the socket is still open after CLOSED_WITHIN_MS. */
function closedSoon({ socket }: ConnectedParticipant): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the leaver's socket is still open ${CLOSED_WITHIN_MS} ms after the DELETE`)),
      CLOSED_WITHIN_MS,
    );
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

describe('leaving for good', () => {
  let stack: InProcessApp;
  beforeAll(async () => {
    stack = await startInProcessApp({ nodes: 2 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("DELETE disconnects the leaver's sockets within a second; the others' stay", async () => {
    const ann = await join(stack.url, 'leave-1', 'Ann');
    const bob = await join(stack.url, 'leave-1', 'Bob');
    const annTabs = [await connect(stack.url, ann), await connect(stack.url, ann)];
    const bobSocket = await connect(stack.url, bob);
    try {
      const closed = annTabs.map(closedSoon);
      expect(
        (
          await api(stack.url, 'DELETE', `/api/sessions/leave-1/participants/${ann.identity}`, {
            rejoinKey: ann.rejoinKey,
          })
        ).status,
      ).toBe(204);
      // A server-side disconnect: the socket.io client does not reconnect by itself.
      expect(await Promise.all(closed)).toEqual(['io server disconnect', 'io server disconnect']);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(bobSocket.socket.connected).toBe(true);
      // And a socket of Ann's that comes back is refused: she has left.
      await expect(connect(stack.url, ann)).rejects.toThrow(`participant ${ann.identity} has left session leave-1`);
    } finally {
      for (const p of [...annTabs, bobSocket]) p.close();
    }
  });

  describe('two instances over Redis', () => {
    let redis: RedisServer;
    const apps: InProcessApp[] = [];
    beforeAll(async () => {
      redis = await startRedisServer();
      for (let i = 0; i < 2; i++) apps.push(await startInProcessApp({ nodes: 2, args: ['--redis', redis.url] }));
    });
    afterAll(async () => {
      for (const app of apps) await app.close();
      await redis?.close();
    });

    it("a DELETE on one instance disconnects the leaver's socket on the other", async () => {
      const [a, b] = apps as [InProcessApp, InProcessApp];
      const ann = await join(a.url, 'leave-2', 'Ann');
      const bob = await join(a.url, 'leave-2', 'Bob');
      const annSocket = await connect(a.url, ann);
      const bobSocket = await connect(a.url, bob);
      try {
        const closed = closedSoon(annSocket);
        expect(
          (
            await api(b.url, 'DELETE', `/api/sessions/leave-2/participants/${ann.identity}`, {
              rejoinKey: ann.rejoinKey,
            })
          ).status,
        ).toBe(204);
        expect(await closed).toBe('io server disconnect');
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(bobSocket.socket.connected).toBe(true);
      } finally {
        annSocket.close();
        bobSocket.close();
      }
    });
  });
});
