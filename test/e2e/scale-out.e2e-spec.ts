// Several backend instances over one real redis-server (append-only file on): any instance serves any
// session, a node death is rebuilt exactly once however many instances see it, pushes cross
// instances, and a Redis restart loses nothing (the API answers 503 meanwhile and recovers by itself).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Redis from 'ioredis';
import type { JoinResponse, RejoinResponse } from '../../src/contracts';
import type { SessionRecord } from '../../src/sessions/session.model';
import { RedisSessionStore } from '../../src/backplane/redis/redis-session-store';
import { startApp, type StartedApp } from '../support/app';
import { spawnFakeNode, type FakeNodeProcess } from '../support/fake-node-process';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { api, connect, join, operatorApi, scrapeMetrics, type ConnectedParticipant } from '../support/session-client';

const API_KEY = 'scale-key';
const API_SECRET = 'scale-secret-of-a-reasonable-length';
/** Probe verdict on a refused connection (250 ms) plus the rebuild, with room for a busy machine. */
const MOVE_TIMEOUT_MS = 10_000;
/**
 * Every rebuild here waits this long between CreateRoom and its write (the rebuild service's test
 * hook): both instances' rebuilds of one session then overlap for sure, and an instance can be killed
 * in the middle of one.
 */
const REBUILD_PAUSE_MS = 600;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** session_rebuilder_rebuilds_total{outcome="rebuilt"} of one instance. */
async function rebuildsCounted(app: StartedApp): Promise<number> {
  const text = await scrapeMetrics(app.url);
  return [...text.matchAll(/^session_rebuilder_rebuilds_total\{[^}]*outcome="rebuilt"[^}]*\} (\d+)/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

describe('two backend instances over Redis', () => {
  let redis: RedisServer;
  let reader: Redis;
  const nodes: FakeNodeProcess[] = [];
  const apps: StartedApp[] = [];
  const sockets: ConnectedParticipant[] = [];
  let a: StartedApp;
  let b: StartedApp;

  /** The truth in Redis, read with the store's own code. */
  const stored = (sessionId: string): Promise<SessionRecord | undefined> =>
    new RedisSessionStore(reader).get(sessionId);

  beforeAll(async () => {
    redis = await startRedisServer();
    reader = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    for (let i = 0; i < 3; i++) nodes.push(await spawnFakeNode(API_KEY, API_SECRET));
    for (let i = 0; i < 2; i++) {
      apps.push(
        await startApp({
          urls: nodes.map((n) => n.url),
          apiKey: API_KEY,
          secret: API_SECRET,
          args: ['--redis', redis.url],
          env: { SESSION_REBUILDER_TEST_REBUILD_PAUSE_MS: String(REBUILD_PAUSE_MS) },
        }),
      );
    }
    [a, b] = apps as [StartedApp, StartedApp];
    // Nothing read the store before its connection was up (a start-up node-up's rebuild did, and failed).
    for (const app of apps) expect(app.output()).not.toMatch(/store \(Redis\) is unavailable/);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await reader?.quit().catch(() => undefined);
    for (const app of apps) await app.stop();
    for (const node of nodes) await node.stop();
    await redis?.close();
  });

  it('any instance serves any session: joined through one, listed and rejoined through the other', async () => {
    const joined = await join(a.url, 'shared-1', 'Ada');
    const rejoin = await api<RejoinResponse>(
      b.url,
      'POST',
      `/api/sessions/shared-1/participants/${joined.identity}/rejoin`,
      { rejoinKey: joined.rejoinKey },
    );
    expect(rejoin.status).toBe(200);
    expect([rejoin.body.url, rejoin.body.generation]).toEqual([joined.url, joined.generation]);
    const wrongKey = await api(b.url, 'POST', `/api/sessions/shared-1/participants/${joined.identity}/rejoin`, {
      rejoinKey: 'x'.repeat(43),
    });
    expect(wrongKey.status).toBe(401);
    const second = await join(b.url, 'shared-1', 'Grace');
    expect(second.url).toBe(joined.url);
    const listed = await operatorApi<Array<{ sessionId: string; participants: unknown[] }>>(a.url, '/api/sessions');
    expect(listed.body.find((s) => s.sessionId === 'shared-1')?.participants).toHaveLength(2);
    expect(Object.keys((await stored('shared-1'))!.participants).sort()).toEqual(
      [joined.identity, second.identity].sort(),
    );
  });

  it('both instances see the node die: exactly one rebuild per session, and every socket gets its push', async () => {
    // Eight sessions, joined through both instances; each participant's socket on the other instance.
    const joined: JoinResponse[] = [];
    for (let i = 0; i < 8; i++) joined.push(await join(i % 2 ? a.url : b.url, `herd-${i}`, `P${i}`));
    for (const [i, participant] of joined.entries()) sockets.push(await connect(i % 2 ? b.url : a.url, participant));
    const victimUrl = joined[0]!.url;
    const victims = joined.filter((j) => j.url === victimUrl);
    const victimSockets = sockets.filter((_s, i) => joined[i]!.url === victimUrl);
    const rebuildsBefore = (await rebuildsCounted(a)) + (await rebuildsCounted(b));

    nodes.find((n) => n.url === victimUrl)!.kill();
    // A join that lands while the rebuild holds the session (paused inside it) is neither lost nor put
    // on the dead node: it waits for the rebuild and joins the new room.
    await waitFor(
      'a rebuild paused inside',
      async () => (a.output() + b.output()).includes(`session ${victims[0]!.sessionId}: rebuild paused`),
      MOVE_TIMEOUT_MS,
    );
    const latecomer = await join(b.url, victims[0]!.sessionId, 'Latecomer');
    expect([latecomer.generation, latecomer.url === victimUrl]).toEqual([2, false]);
    const pushes = await Promise.all(victimSockets.map((socket) => socket.nextRejoin(2, MOVE_TIMEOUT_MS)));
    for (const push of pushes) expect([push.generation, push.url === victimUrl]).toEqual([2, false]);

    // Give a second instance every chance to rebuild again, then read the truth from Redis.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const victim of victims) {
      const session = (await stored(victim.sessionId))!;
      expect([session.sessionId, session.generation, session.nodeUrl === victimUrl]).toEqual([
        victim.sessionId,
        2,
        false,
      ]);
    }
    for (const socket of victimSockets) expect(socket.rejoins.map((r) => r.generation)).toEqual([2]);
    expect(Object.keys((await stored(victims[0]!.sessionId))!.participants)).toContain(latecomer.identity);
    const rebuildsAfter = (await rebuildsCounted(a)) + (await rebuildsCounted(b));
    expect(rebuildsAfter - rebuildsBefore).toBe(victims.length);

    // A socket that comes back behind the session (its instance died while the push went out) is
    // sent the move it missed, on either instance; one that is current is sent nothing.
    const behind = await connect(b.url, victims[0]!, 5_000, 1);
    const current = await connect(a.url, victims[0]!, 5_000, 2);
    sockets.push(behind, current);
    const missed = await behind.nextRejoin(2, 5_000);
    expect([missed.generation, missed.reason, missed.url]).toEqual([2, 'catch-up', pushes[0]!.url]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(current.rejoins).toEqual([]);
  });

  it("node health lives in Redis: each instance's view of each node, and /api/nodes shows the other instance's", async () => {
    // The node killed in the previous spec: both instances saw it die, and each wrote what it saw.
    const dead = nodes.find((n) => n.proc.child.signalCode !== null)!;
    await waitFor(
      'both views of the dead node in Redis',
      async () => {
        const views = Object.values(await reader.hgetall(`sr:node-health:${dead.url}`)).map(
          (json) => JSON.parse(json) as { status: string },
        );
        return views.length === 2 && views.every((v) => v.status === 'down');
      },
      MOVE_TIMEOUT_MS,
    );
    // Each instance listens for the others' announcements (a peer's change makes it probe at once).
    expect(await reader.pubsub('NUMSUB', 'sr:node-health')).toEqual(['sr:node-health', 2]);
    for (const [self, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const listed = await operatorApi<
        Array<{ url: string; status: string; peers: Array<{ instance: string; status: string; reason: string }> }>
      >(self.url, '/api/nodes');
      const node = listed.body.find((n) => n.url === dead.url)!;
      expect([node.status, node.peers.length, node.peers[0]?.status]).toEqual(['down', 1, 'down']);
      expect(node.peers[0]!.instance).toMatch(new RegExp(`:${other.pid}$`));
      expect(node.peers[0]!.reason).toMatch(/refused|reset/);
    }
  });

  it('a Redis restart loses nothing: 503 with a clear message meanwhile, then it recovers by itself', async () => {
    const before = await operatorApi<Array<{ sessionId: string }>>(a.url, '/api/sessions');
    const keyed = await join(a.url, 'survivor', 'Lin');
    await redis.stop();

    for (const app of [a, b]) {
      const refused = await api<{ message: string }>(app.url, 'POST', '/api/sessions/during-outage/participants', {
        name: 'Late',
      });
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(/session store \(Redis\) is unavailable/);
    }

    await redis.start();
    await waitFor(
      'both instances answer again',
      async () =>
        (await Promise.all([a, b].map((app) => operatorApi(app.url, '/api/sessions')))).every((r) => r.status === 200),
      10_000,
    );
    await waitFor(
      'both instances listening to node health again',
      async () => ((await reader.pubsub('NUMSUB', 'sr:node-health')) as [string, number])[1] === 2,
      10_000,
    );
    const after = await operatorApi<Array<{ sessionId: string }>>(b.url, '/api/sessions');
    expect(after.body.map((s) => s.sessionId).sort()).toEqual(
      [...before.body.map((s) => s.sessionId), 'survivor'].sort(),
    );
    const rejoin = await api<RejoinResponse>(
      b.url,
      'POST',
      `/api/sessions/survivor/participants/${keyed.identity}/rejoin`,
      { rejoinKey: keyed.rejoinKey },
    );
    expect(rejoin.status).toBe(200);
    expect((await join(b.url, 'during-outage', 'Late')).sessionId).toBe('during-outage');
  });

  it('an instance that starts while Redis is down says so, keeps retrying, and serves once Redis is back', async () => {
    const downRedis = await startRedisServer();
    await downRedis.stop();
    const late = await startApp({
      urls: nodes.filter((n) => n.proc.child.exitCode === null && n.proc.child.signalCode === null).map((n) => n.url),
      apiKey: API_KEY,
      secret: API_SECRET,
      args: ['--redis', downRedis.url],
    });
    apps.push(late);
    try {
      expect(late.output()).toMatch(/unreachable .*retrying every second/);
      const refused = await api<{ message: string }>(late.url, 'POST', '/api/sessions/patient/participants', {
        name: 'Pat',
      });
      expect([refused.status, refused.body.message]).toEqual([
        503,
        expect.stringMatching(/session store \(Redis\) is unavailable/),
      ]);
      await downRedis.start();
      await waitFor(
        'the instance serving again',
        async () => (await operatorApi(late.url, '/api/sessions')).status === 200,
        10_000,
      );
      expect(late.output()).toMatch(/reachable again/);
      expect((await join(late.url, 'patient', 'Pat')).sessionId).toBe('patient');
    } finally {
      await late.stop();
      await downRedis.close();
    }
  });

  // Last: it kills one instance for good.
  it('an instance SIGKILLed in the middle of a rebuild: the other finishes it, once, about a second later', async () => {
    const living = nodes.filter((n) => n.proc.child.exitCode === null && n.proc.child.signalCode === null);
    expect(living.length).toBeGreaterThanOrEqual(2); // one to kill, one to move to
    const joined = await join(a.url, 'midway', 'Mo');
    // A socket on each instance: whichever survives pushes the move to its own.
    const onA = await connect(a.url, joined);
    const onB = await connect(b.url, joined);
    sockets.push(onA, onB);
    const victim = nodes.find((n) => n.url === joined.url)!;
    expect(victim).toBeDefined();

    victim.kill();
    // The participant's report through A makes A look at once; a report alone downs no node (a verdict
    // waits for the node's next answer), so whichever instance's probe sees the death first rebuilds.
    const report = api(a.url, 'POST', `/api/sessions/midway/participants/${joined.identity}/rejoin`, {
      rejoinKey: joined.rejoinKey,
      failedUrl: victim.url,
    }).catch(() => undefined);
    const paused = (app: StartedApp) => app.output().includes('session midway: rebuild paused');
    await waitFor('an instance pausing inside the rebuild', async () => paused(a) || paused(b), MOVE_TIMEOUT_MS);
    const [first, other, socket] = paused(a) ? [a, b, onB] : [b, a, onA];
    process.kill(first.pid, 'SIGKILL');
    const killedAt = performance.now();
    await report;

    const push = await socket.nextRejoin(2, MOVE_TIMEOUT_MS);
    const finishedAfterMs = Math.round(push.at - killedAt);
    // The other waits out the first's lease (at most 1 s after its last renewal), then does the whole rebuild, pause included.
    expect(finishedAfterMs).toBeLessThan(1_000 + REBUILD_PAUSE_MS + 1_000);
    console.log(
      `scale-out: instance killed mid-rebuild; the other pushed the move ${finishedAfterMs} ms later (${REBUILD_PAUSE_MS} ms of it the test pause)`,
    );
    const session = (await stored('midway'))!;
    expect([session.generation, session.nodeUrl === victim.url, push.url]).toEqual([2, false, session.nodeUrl]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(socket.rejoins.map((r) => r.generation)).toEqual([2]);
    expect(other.output()).toContain('session midway rebuilt');
  });
});
