// Two instances whose clocks disagree by 30 s share one redis-server: when a participant who left is
// forgotten must not depend on which instance wrote the leave and which one sweeps. Deadlines are the
// store's (Redis TIME), so real time passes here: the grace period, 10 s.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SystemClock } from '../../src/common/clock';
import { PARTICIPANT_LEFT_GRACE_MS } from '../../src/sessions/session-policy';
import { SessionSweeperService } from '../../src/sessions/session-sweeper.service';
import { InProcessApp, ScriptedNodes, startInProcessApp } from '../support/in-process-app';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { api, join, operatorApi } from '../support/session-client';

/** A machine whose clock is `offsetMs` off (NTP not running, a VM resumed); its timers run as usual. */
class SkewedClock extends SystemClock {
  constructor(private readonly offsetMs: number) {
    super();
  }

  override now(): number {
    return Date.now() + this.offsetMs;
  }
}

const SKEW_MS = 30_000;

type SessionsView = Array<{ sessionId: string; participants: Array<{ identity: string; state: string }> }>;

describe('two instances 30 s apart, one Redis: the sweep forgets a leaver after the grace period, whoever wrote and whoever sweeps', () => {
  let redis: RedisServer;
  let slow: InProcessApp;
  let fast: InProcessApp;

  beforeAll(async () => {
    redis = await startRedisServer();
    const scripted = new ScriptedNodes(['ws://127.0.0.11:7880', 'ws://127.0.0.12:7880']);
    slow = await startInProcessApp({ scripted, clock: new SystemClock(), args: ['--redis', redis.url] });
    fast = await startInProcessApp({ scripted, clock: new SkewedClock(SKEW_MS), args: ['--redis', redis.url] });
    // Only the sweeps below run.
    for (const app of [slow, fast]) app.app.get(SessionSweeperService).onModuleDestroy();
  });
  afterAll(async () => {
    await slow?.close();
    await fast?.close();
    await redis?.close();
  });

  const identities = async (sessionId: string) =>
    (
      (await operatorApi<SessionsView>(slow.url, '/api/sessions')).body.find((s) => s.sessionId === sessionId)
        ?.participants ?? []
    )
      .map((p) => p.identity)
      .sort();

  it('left on the slow instance, swept by the fast one (and the other way): kept during the grace period, forgotten after it', async () => {
    const ann = await join(slow.url, 'skew', 'Ann');
    const bob = await join(slow.url, 'skew', 'Bob');
    const carol = await join(slow.url, 'skew', 'Carol');
    // Bob stays; Ann leaves through the slow instance, Carol through the fast one.
    expect(
      (await api(slow.url, 'DELETE', `/api/sessions/skew/participants/${ann.identity}`, { rejoinKey: ann.rejoinKey }))
        .status,
    ).toBe(204);
    expect(
      (
        await api(fast.url, 'DELETE', `/api/sessions/skew/participants/${carol.identity}`, {
          rejoinKey: carol.rejoinKey,
        })
      ).status,
    ).toBe(204);
    const left = Date.now();

    await fast.app.get(SessionSweeperService).sweep();
    await slow.app.get(SessionSweeperService).sweep();
    expect(await identities('skew')).toEqual([ann.identity, bob.identity, carol.identity].sort());

    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, left + PARTICIPANT_LEFT_GRACE_MS + 1_000 - Date.now())),
    );
    await slow.app.get(SessionSweeperService).sweep();
    expect(await identities('skew')).toEqual([bob.identity]);
  });
});
