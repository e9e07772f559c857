// A media node dies while Redis is away for a moment (SIGSTOPped, as a Redis host that stalls): the
// herd fails on the store. It must be tried again, so that the node's sessions move once Redis answers,
// without waiting for a client to report or join (bots that only listen for pushes never would).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startInProcessApp } from '../support/in-process-app';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { connect, join, operatorApi } from '../support/session-client';

const REDIS_AWAY_MS = 4_000;
/** Once Redis answers again: a retry every HERD_RETRY_MS, a push through Redis, with room to spare. */
const MOVED_WITHIN_MS = 3_000;

describe('a Redis blip while a media node dies (real redis-server)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it(`the dead node's sessions move within ${MOVED_WITHIN_MS} ms of Redis answering again, with nobody reporting`, async () => {
    const stack = await startInProcessApp({ args: ['--redis', redis.url] });
    try {
      const ann = await join(stack.url, 'blip', 'Ann');
      const bot = await connect(stack.url, ann); // listens for pushes, never reports
      try {
        process.kill(redis.pid(), 'SIGSTOP');
        let resumedAt: number;
        try {
          stack.nodes.state.set(ann.url, 'refused');
          await new Promise((resolve) => setTimeout(resolve, REDIS_AWAY_MS));
        } finally {
          process.kill(redis.pid(), 'SIGCONT');
          resumedAt = performance.now();
        }
        const rejoin = await bot.nextRejoin(2, MOVED_WITHIN_MS);
        console.log(
          `redis blip: the move was pushed ${Math.round(rejoin.at - resumedAt)} ms after Redis answered again`,
        );
        expect(rejoin.url).not.toBe(ann.url);
        const sessions = (await operatorApi<Array<{ sessionId: string; nodeUrl: string }>>(stack.url, '/api/sessions'))
          .body;
        expect(sessions.find((s) => s.sessionId === 'blip')?.nodeUrl).toBe(rejoin.url);
      } finally {
        bot.close();
      }
    } finally {
      await stack.close();
    }
  });
});
