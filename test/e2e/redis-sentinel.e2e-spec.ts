// Redis that survives its machine: the backend over Redis Sentinel (one primary, one replica, three
// sentinels from Debian's redis-server), the primary SIGKILLed while joins go on. The instance carries on
// with the promoted replica, no join answered 201 is lost (each waited for the replica), and a media node
// that dies during the failover is rebuilt once Redis answers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JoinResponse, SessionSummary } from '../../src/contracts';
import { startRedisSentinel, type RedisSentinelTopology } from '../../src/local-stack/redis-sentinel';
import { freePort } from '../../src/shared/ports';
import { startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { api, connect, join, operatorApi } from '../support/session-client';
import { waitForValue } from '../support/wait-for-value';

/** Joins a second while the primary dies, as an all-hands starting would bring. */
const JOIN_EVERY_MS = 50;

interface Attempt {
  at: number;
  status: number;
  joined?: JoinResponse;
}

describe('Redis through Sentinel (real redis-server primary, replica and three sentinels)', () => {
  let redis: RedisSentinelTopology;
  let stack: InProcessApp;

  beforeAll(async () => {
    redis = await startRedisSentinel({ downAfterMs: 1_000 });
    stack = await startInProcessApp({
      args: ['--redis-sentinel', redis.sentinels.join(','), '--redis-name', redis.name],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await redis?.stop();
  });

  it('the primary SIGKILLed: joins fail only for the failover, none answered 201 is lost, and a node dying meanwhile is rebuilt once Redis answers', async () => {
    const ann = await join(stack.url, 'through-failover', 'Ann');
    const socket = await connect(stack.url, ann);
    try {
      const attempts: Attempt[] = [];
      let going = true;
      const joining = (async () => {
        for (let i = 0; going; i++) {
          const at = performance.now();
          const res = await api<JoinResponse>(stack.url, 'POST', `/api/sessions/failover-${i % 20}/participants`, {
            name: `P${i}`,
          }).catch(() => ({ status: 0, body: undefined }));
          attempts.push({ at, status: res.status, joined: res.status === 201 ? res.body : undefined });
          await new Promise((resolve) => setTimeout(resolve, JOIN_EVERY_MS));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const killedAt = performance.now();
      const oldPrimary = await redis.killPrimary();
      // Ann's node dies while Redis has no primary.
      stack.nodes.state.set(ann.url, 'refused');
      const moved = await socket.nextRejoin(2, 30_000);
      const firstSuccessAfter = await waitForValue(
        () => attempts.find((a) => a.at > killedAt && a.status === 201),
        30_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      going = false;
      await joining;

      const failed = attempts.filter((a) => a.status !== 201);
      const failingMs = failed.length === 0 ? 0 : Math.max(...failed.map((a) => a.at)) - killedAt;
      const rebuiltAfterRedisMs = moved.at - firstSuccessAfter.at;
      console.log(
        `sentinel failover: joins failed for ${Math.round(failingMs)} ms after the kill (${failed.length} of ${attempts.length} attempts: ${[
          ...new Set(failed.map((a) => a.status)),
        ].join(
          ',',
        )}); the dead node's session was pushed ${Math.round(rebuiltAfterRedisMs)} ms after the first join answered again`,
      );
      expect(await redis.primaryPort()).not.toBe(oldPrimary);
      expect(failingMs).toBeLessThan(6_000);
      expect(new Set(failed.map((a) => a.status))).toEqual(failed.length > 0 ? new Set([503]) : new Set());
      // Moved by the herd's next retry (every 500 ms), not at a later sweep; its writes each wait up to
      // 250 ms for a replica the promoted primary does not have yet. 386-535 ms alone, 2.3 s once beside a
      // Chromium suite.
      expect(rebuiltAfterRedisMs).toBeLessThan(3_000);
      expect(moved.url).not.toBe(ann.url);

      // Every join answered 201, before the kill or after, is in the registry the promoted replica holds.
      const sessions = (await operatorApi<SessionSummary[]>(stack.url, '/api/sessions')).body;
      const held = new Set(sessions.flatMap((s) => s.participants.map((p) => `${s.sessionId}/${p.identity}`)));
      const answered = attempts.flatMap((a) => (a.joined ? [`${a.joined.sessionId}/${a.joined.identity}`] : []));
      expect(answered.filter((id) => !held.has(id))).toEqual([]);
      expect(answered.length).toBeGreaterThan(20);
    } finally {
      socket.close();
    }
  });

  it('a replica that acknowledges nothing: joins answer 503 instead of 201 (each waits for a replica to acknowledge it), and none answered is lost in the failover to it', async () => {
    // The primary killed above comes back as a replica of the promoted one.
    const primary = await redis.primaryPort();
    const replica = redis.dataPorts().find((port) => port !== primary)!;
    await redis.restart(replica);
    await redis.untilReplicated(1);
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // the store asks again whether a replica is there
    process.kill(redis.pid(replica), 'SIGSTOP'); // connected, but acknowledging nothing
    const answered: JoinResponse[] = [];
    let refused = 0;
    try {
      for (let i = 0; i < 5; i++) {
        const res = await api<JoinResponse>(stack.url, 'POST', '/api/sessions/lagging/participants', { name: `L${i}` });
        if (res.status === 201) answered.push(res.body);
        else refused++;
      }
      await redis.killPrimary();
    } finally {
      process.kill(redis.pid(replica), 'SIGCONT');
    }
    await waitForValue(async () => (await redis.primaryPort()) === replica || undefined, 30_000);
    const after = await waitForValue(async () => {
      const res = await operatorApi<SessionSummary[]>(stack.url, '/api/sessions');
      return res.status === 200 ? res.body : undefined;
    }, 30_000);
    const held = new Set(after.flatMap((s) => s.participants.map((p) => p.identity)));
    console.log(
      `sentinel, lagging replica: ${answered.length} join(s) answered 201, ${refused} refused (503) while it lagged`,
    );
    expect(answered.filter((j) => !held.has(j.identity))).toEqual([]);
    expect(refused).toBeGreaterThan(0);
  });
});

describe('Sentinel that cannot be reached at start', () => {
  it('the backend starts, /health/ready answers 503 naming the sentinels, and it stops cleanly', async () => {
    const sentinel = `127.0.0.1:${await freePort()}`;
    const stack = await startInProcessApp({ args: ['--redis-sentinel', sentinel, '--redis-name', 'nowhere'] });
    try {
      const ready = await api<{ details: Record<string, { status: string; message?: string }> }>(
        stack.url,
        'GET',
        '/health/ready',
      );
      expect(ready.status).toBe(503);
      expect(ready.body.details.store).toMatchObject({ status: 'down', message: expect.stringContaining(sentinel) });
    } finally {
      await stack.close();
    }
    // The connections still asking the sentinels give up after the close: commands queued meanwhile must
    // fail quietly (an unhandled rejection here ended the process, and failed whichever spec ran next).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  });
});
