// Long uptime in a minute: thousands of joins and leaves and sessions that end, then the registry and
// the heap must be back near where they started. Time is a FakeClock, so grace periods and token
// lifetimes pass without waiting; the backend runs in this process over scripted nodes.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JoinResponse } from '../../src/contracts';
import { FakeClock } from '../../src/common/fake-clock';
import { SessionSweeperService } from '../../src/sessions/session-sweeper.service';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import { deliverPresence, InProcessApp, startInProcessApp } from '../support/in-process-app';
import { api, join } from '../support/session-client';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CYCLES = 2_000;
const SESSIONS = 100;
const PARALLEL = 20;
/** Heap growth allowed after everything ended, measured against a warmed-up start (see the closing note of the issue). */
const MAX_HEAP_GROWTH_BYTES = 6 * 1024 * 1024;

describe('soak: nothing grows forever', () => {
  const clock = new FakeClock(Date.now());
  const store = new MemorySessionStore(clock); // the sweep's deadlines run on the app's clock
  let stack: InProcessApp;

  beforeAll(async () => {
    stack = await startInProcessApp({ nodes: 2, clock, store });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Small steps: the probe loop must see its nodes answer between ticks, as with a real clock. */
  const advance = async (ms: number) => {
    for (let done = 0; done < ms; done += 250) {
      clock.advance(Math.min(250, ms - done));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const webhook = (event: 'participant_joined' | 'participant_left', joined: JoinResponse) =>
    deliverPresence(stack, event, joined, Math.floor(clock.now() / 1000));

  /** One participant's life, by kind: leaves with DELETE, leaves per webhook, never confirms, joins and vanishes, get-token only. */
  const life = async (i: number) => {
    const sessionId = `soak-${i % SESSIONS}`;
    const kind = i % 5;
    if (kind === 4) {
      expect((await api(stack.url, 'POST', '/api/get-token', { sessionId })).status).toBe(200);
      return;
    }
    const joined = await join(stack.url, sessionId, `P${i}`);
    if (kind === 0) {
      expect(
        (
          await api(stack.url, 'DELETE', `/api/sessions/${sessionId}/participants/${joined.identity}`, {
            rejoinKey: joined.rejoinKey,
          })
        ).status,
      ).toBe(204);
    } else if (kind === 1) {
      await webhook('participant_joined', joined);
      await webhook('participant_left', joined);
    } else if (kind === 3) {
      await webhook('participant_joined', joined); // then the node never says more: only its room's emptiness ends this
    } // kind 2: got a token, never connected
  };

  const churn = async (from: number, to: number) => {
    for (let i = from; i < to; i += PARALLEL)
      await Promise.all(Array.from({ length: Math.min(PARALLEL, to - i) }, (_, k) => life(i + k)));
  };

  /** Everything that was started has run its course: grace periods, token lifetimes, empty-room timeouts. */
  const letTimePass = async () => {
    await advance(11 * 60_000);
    await stack.app.get(SessionSweeperService).sweep();
  };

  const heapUsed = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };

  it(`${CYCLES} participant lives over ${SESSIONS} sessions leave an empty registry and a heap near its start`, async () => {
    // Warm-up: code paths compiled, pools and caches filled, before the baseline is taken.
    await churn(0, 400);
    await letTimePass();
    expect(await store.list()).toHaveLength(0);
    const before = heapUsed();

    await churn(400, 400 + CYCLES);
    const during = await store.list();
    expect(during.length).toBeGreaterThan(0);
    const peak = heapUsed();
    await letTimePass();

    expect(await store.list()).toEqual([]);
    const after = heapUsed();
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);
    console.log(
      `soak: ${during.length} sessions, ${during.reduce((n, s) => n + Object.keys(s.participants).length, 0)} participants at peak; heap before ${mb(before)} MB, at peak ${mb(peak)} MB, after ${mb(after)} MB (growth ${mb(after - before)} MB)`,
    );
    expect(after - before).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  }, 180_000);
});
