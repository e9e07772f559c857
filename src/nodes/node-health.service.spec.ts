import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../config/parse-config';
import type { Clock, TimerHandle } from '../common/clock';
import { FakeClock } from '../common/fake-clock';
import {
  FAILURES_TO_DOWN,
  HUNG_AFTER_MS,
  PROBE_INTERVAL_MS,
  REPORT_PROBE_AFTER_MS,
  SUCCESSES_TO_UP,
} from './node-health.policy';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AppEvents } from '../events/app-events';
import { LocalNodeHealthBoard } from '../backplane/memory/local-node-health-board';
import { NodeHealthService } from './node-health.service';
import type { ProbeResult } from './node-health.state';
import type { NodeProber } from './node-prober';
import type { NodeHealthBoard, PeerNodeView } from './node-health-board';

/** The shared board in memory: what this instance published, and a way to play another instance's announcement. */
class FakeBoard implements NodeHealthBoard {
  readonly instance = 'host-a:1';
  published: Array<{ views: PeerNodeView[]; announce: boolean }> = [];
  others: PeerNodeView[] = [];
  private listener?: (view: PeerNodeView) => void;
  async publish(views: PeerNodeView[], announce: boolean) {
    this.published.push({ views, announce });
  }
  async read() {
    return [...this.published.flatMap((p) => p.views), ...this.others];
  }
  async subscribe(listener: (view: PeerNodeView) => void) {
    this.listener = listener;
  }
  close() {}
  peerAnnounces(view: Omit<PeerNodeView, 'instance' | 'at' | 'since'>) {
    const full = { ...view, instance: 'host-b:2', since: Date.now(), at: Date.now() };
    this.others.push(full);
    this.listener?.(full);
  }
}

type Behaviour = 'ok' | 'slow' | 'refused' | 'hung' | 'status';

/**
 * A fake clock whose owner can "block the event loop": stall(ms) moves time on without firing timers,
 * so every pending timer then fires late by ms, as after a long synchronous task in the backend.
 */
class StallableClock implements Clock {
  readonly inner = new FakeClock();
  private offset = 0;
  now(): number {
    return this.inner.now() + this.offset;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(fn, ms);
  }
  clearTimeout(handle: TimerHandle): void {
    this.inner.clearTimeout(handle);
  }
  advance(ms: number): void {
    this.inner.advance(ms);
  }
  stall(ms: number): void {
    this.offset += ms;
  }
}

/** A prober whose answers follow the fake clock: a hung node answers only when the probe is given up. */
class ScriptedProber implements NodeProber {
  behaviour: Behaviour = 'ok';
  /** Answer time of a 'slow' node: far over the old 450 ms timeout, under HUNG_AFTER_MS. */
  slowMs = 800;
  probes = 0;
  constructor(private readonly clock: StallableClock) {}
  probe(_url: string, giveUpMs: number): Promise<ProbeResult> {
    this.probes++;
    switch (this.behaviour) {
      case 'ok':
        return Promise.resolve({ ok: true, latencyMs: 1 });
      case 'slow':
        return new Promise((resolve) =>
          this.clock.setTimeout(() => resolve({ ok: true, latencyMs: this.slowMs }), this.slowMs),
        );
      case 'refused':
        return Promise.resolve({ ok: false, kind: 'refused', detail: 'ECONNREFUSED', latencyMs: 1 });
      case 'status':
        return Promise.resolve({ ok: false, kind: 'status', detail: 'GET / answered 406', latencyMs: 1 });
      case 'hung':
        return new Promise((resolve) =>
          this.clock.setTimeout(
            () => resolve({ ok: false, kind: 'timeout', detail: 'given up', latencyMs: giveUpMs }),
            giveUpMs,
          ),
        );
    }
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function run(clock: StallableClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await flush();
    await flush();
  }
}

async function setup(board?: NodeHealthBoard) {
  const clock = new StallableClock();
  const prober = new ScriptedProber(clock);
  const config = parseConfig(
    ['--url', 'ws://node-a:7880', '--api-key', 'spec-key', '--secret', 'spec-secret-spec-secret-spec-secret'],
    {},
  );
  const events = new AppEvents(new EventEmitter2());
  const health = new NodeHealthService(config, prober, clock, events, board ?? new LocalNodeHealthBoard());
  const transitions: string[] = [];
  for (const name of ['node-down', 'node-up', 'node-suspect'] as const) {
    events.on(name, ({ transition: t, trigger }) => transitions.push(`${t.from}->${t.to}:${t.cause ?? ''}:${trigger}`));
  }
  await health.onApplicationBootstrap();
  return { clock, prober, health, transitions, url: config.urls[0]! };
}

/** Time from the node stopping to its `down`, with the loop probing as usual. */
async function timeToDown(
  clock: StallableClock,
  health: NodeHealthService,
  url: string,
  limitMs: number,
): Promise<number> {
  const started = clock.now();
  while (health.status(url) !== 'down' && clock.now() - started < limitMs) await run(clock, 10);
  return clock.now() - started;
}

describe(NodeHealthService.name, () => {
  it('is up after the start-up probe and probes every PROBE_INTERVAL_MS', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    assert.equal(health.status(url), 'up');
    expect(transitions).toEqual(['unknown->up::startup']);
    const before = prober.probes;
    await run(clock, PROBE_INTERVAL_MS * 4);
    assert.equal(prober.probes - before, 4);
    health.onModuleDestroy();
  });

  it('a refused connection marks the node down on the next probe, without waiting for more failures', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'refused';
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(health.status(url), 'down');
    assert.equal(transitions.at(-1), 'up->down:refused:loop');
    health.onModuleDestroy();
  });

  it('a failed call of ours to the node (RoomService) probes it at once, and the verdict names the call, not a client', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'refused';
    health.reportFailure(url, 'refused', 'CreateRoom');
    await run(clock, 20);
    assert.equal(health.status(url), 'down');
    // The move that follows tells its participants node-down, not client-report (nobody reported):
    // rejoinReasonFor, rebuild.spec.
    expect(transitions.slice(1)).toEqual(['up->suspect:refused:call', 'suspect->down:refused:call']);
    health.onModuleDestroy();
  });

  it('a hung node goes suspect, then down once HUNG_AFTER_MS pass without an answer (within HUNG_AFTER_MS + one interval)', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'hung';
    const elapsed = await timeToDown(clock, health, url, 5_000);
    expect(elapsed).toBeGreaterThanOrEqual(HUNG_AFTER_MS);
    expect(elapsed).toBeLessThanOrEqual(HUNG_AFTER_MS + PROBE_INTERVAL_MS + 20);
    expect(transitions.slice(1)).toEqual(['up->suspect:timeout:loop', 'suspect->down:timeout:loop']);
    // What an operator reads in /api/nodes: the verdict says it was silence, and how long.
    expect(health.snapshots()[0]!.reason).toMatch(/^timeout: no answer for \d+ ms \(backend lag excluded\)$/);
    health.onModuleDestroy();
  });

  it('late answers are not failures: a node answering every probe in 800 ms is never taken down', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'slow';
    await run(clock, 10_000);
    assert.equal(health.status(url), 'up');
    assert.ok(!transitions.some((t) => t.includes('->down')), transitions.join(', '));
    health.onModuleDestroy();
  });

  it('any answer, even late, clears suspicion: a node silent for 900 ms that then answers its backlog stays up', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'slow';
    prober.slowMs = HUNG_AFTER_MS - 100;
    await run(clock, HUNG_AFTER_MS * 3);
    assert.equal(health.status(url), 'up');
    assert.ok(!transitions.some((t) => t.includes('->down')), transitions.join(', '));
    assert.ok(
      transitions.some((t) => t.startsWith('up->suspect')),
      'the silence was noticed',
    );
    assert.ok(
      transitions.some((t) => t.startsWith('suspect->up')),
      'and cleared by the late answer',
    );
    health.onModuleDestroy();
  });

  it("the backend's own event-loop lag is not counted as the node's silence", async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'hung';
    await run(clock, PROBE_INTERVAL_MS);
    // The backend is blocked 3 s (GC, a burst of work): its probe timers fire 3 s late.
    clock.stall(3 * HUNG_AFTER_MS);
    await run(clock, PROBE_INTERVAL_MS);
    assert.notEqual(
      health.status(url),
      'down',
      `3 s of backend lag counted as node silence: ${transitions.join(', ')}`,
    );
    // The node really is hung: on-time silence still finds it within the bound.
    const elapsed = await timeToDown(clock, health, url, 5_000);
    assert.equal(health.status(url), 'down');
    // Only the on-time silence counts: the one interval before the stall, then HUNG_AFTER_MS minus it after.
    expect(elapsed).toBeGreaterThanOrEqual(HUNG_AFTER_MS - 2 * PROBE_INTERVAL_MS);
    expect(elapsed).toBeLessThanOrEqual(HUNG_AFTER_MS + 20);
    health.onModuleDestroy();
  });

  it('answers that are not 200 take the node down after FAILURES_TO_DOWN in a row; one is only suspect', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'status';
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(health.status(url), 'suspect');
    prober.behaviour = 'ok';
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(health.status(url), 'up');
    prober.behaviour = 'status';
    await run(clock, PROBE_INTERVAL_MS * FAILURES_TO_DOWN);
    assert.equal(health.status(url), 'down');
    assert.equal(transitions.at(-1), 'suspect->down:status:loop');
    health.onModuleDestroy();
  });

  it('a down node needs SUCCESSES_TO_UP answers in a row to come back', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'refused';
    await run(clock, PROBE_INTERVAL_MS);
    prober.behaviour = 'ok';
    await run(clock, PROBE_INTERVAL_MS * (SUCCESSES_TO_UP - 1));
    assert.equal(health.status(url), 'down');
    prober.behaviour = 'refused';
    await run(clock, PROBE_INTERVAL_MS);
    prober.behaviour = 'ok';
    await run(clock, PROBE_INTERVAL_MS * (SUCCESSES_TO_UP - 1));
    assert.equal(health.status(url), 'down', 'a failure restarts the count');
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(health.status(url), 'up');
    assert.equal(transitions.at(-1), 'down->up::loop');
    health.onModuleDestroy();
  });

  it('a hung node that resumes comes back once it answers', async () => {
    const { clock, prober, health, url } = await setup();
    prober.behaviour = 'hung';
    await timeToDown(clock, health, url, 5_000);
    assert.equal(health.status(url), 'down');
    prober.behaviour = 'ok';
    await run(clock, PROBE_INTERVAL_MS * (SUCCESSES_TO_UP + 1));
    assert.equal(health.status(url), 'up');
    health.onModuleDestroy();
  });

  it('verdict() after a client report decides a refused node at once when the loop is late', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'refused';
    // The backend's loop is held up: no probe has left for a whole interval.
    clock.stall(PROBE_INTERVAL_MS);
    assert.equal(await health.verdict(url), 'down');
    assert.equal(transitions.at(-1), 'up->down:refused:report');
    prober.behaviour = 'ok';
    assert.equal(await health.verdict('ws://unknown:1'), undefined);
    health.onModuleDestroy();
  });

  it("verdict() between loop probes sends none of its own: the loop's next answer decides", async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'refused';
    const before = prober.probes;
    const verdicts = Promise.all(Array.from({ length: 1_000 }, () => health.verdict(url)));
    await flush();
    assert.equal(prober.probes, before, 'a thousand reports, no probe yet');
    await run(clock, PROBE_INTERVAL_MS);
    expect(new Set(await verdicts)).toEqual(new Set(['down']));
    assert.equal(prober.probes - before, 1, "the loop's one probe answered them all");
    assert.equal(transitions.at(-1), 'up->down:refused:loop');
    health.onModuleDestroy();
  });

  it('a report REPORT_PROBE_AFTER_MS after the last probe probes at once: a thousand reports, one probe', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'refused';
    await run(clock, REPORT_PROBE_AFTER_MS);
    const before = prober.probes;
    const verdicts = Promise.all(Array.from({ length: 1_000 }, () => health.verdict(url)));
    await flush();
    expect(new Set(await verdicts)).toEqual(new Set(['down']));
    assert.equal(prober.probes - before, 1, 'one probe answered them all');
    assert.equal(transitions.at(-1), 'up->down:refused:report');
    health.onModuleDestroy();
  });

  it("a non-200 answer and a report are not FAILURES_TO_DOWN: the report asks again at the loop's pace", async () => {
    const { clock, prober, health, url } = await setup();
    // A proxy answers 406 for one short window, caught by one loop probe.
    prober.behaviour = 'status';
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(health.status(url), 'suspect');
    const verdict = health.verdict(url);
    await flush();
    prober.behaviour = 'ok'; // the window is over before the next loop probe
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(await verdict, 'up');
    assert.equal(health.status(url), 'up');
    assert.ok(FAILURES_TO_DOWN >= 2);
    health.onModuleDestroy();
  });

  it('verdict() on a slow but alive node answers up: a client report alone moves nobody', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'slow';
    const verdict = health.verdict(url);
    // The loop's next probe is the evidence, answered slowly.
    await run(clock, PROBE_INTERVAL_MS + prober.slowMs + 20);
    assert.equal(await verdict, 'up');
    assert.ok(!transitions.some((t) => t.includes('->down')));
    health.onModuleDestroy();
  });

  it('verdict() on a hung node waits for the hung call', async () => {
    const { clock, prober, health, url } = await setup();
    prober.behaviour = 'hung';
    const verdict = health.verdict(url);
    await run(clock, HUNG_AFTER_MS + PROBE_INTERVAL_MS + 20);
    assert.equal(await verdict, 'down');
    health.onModuleDestroy();
  });

  it('shares its view with the other instances: on joining, and announced on every transition', async () => {
    const board = new FakeBoard();
    const { clock, prober, health, url } = await setup(board);
    expect(board.published.map((p) => [p.announce, p.views.map((v) => `${v.url}:${v.status}`)])).toEqual([
      [false, [`${url}:up`]],
    ]);
    prober.behaviour = 'refused';
    await run(clock, PROBE_INTERVAL_MS);
    const announced = board.published.filter((p) => p.announce).flatMap((p) => p.views);
    expect(announced.map((v) => [v.url, v.instance, v.status, v.reason])).toEqual([
      [url, 'host-a:1', 'down', expect.stringMatching(/refused/)],
    ]);
    health.onModuleDestroy();
  });

  it('another instance seeing a node down makes this one probe at once; its own answer decides', async () => {
    const board = new FakeBoard();
    const { prober, health, transitions, url } = await setup(board);
    // Alive here (the other instance's trouble is its own): probed at once, nothing changes.
    const before = prober.probes;
    board.peerAnnounces({ url, status: 'down', reason: 'timeout: no answer' });
    await flush();
    assert.equal(prober.probes - before, 1, 'one probe, sent at once rather than at the next loop step');
    assert.equal(health.status(url), 'up');
    // Dead here too: down on that probe, before the loop's next step, and it says why.
    prober.behaviour = 'refused';
    board.peerAnnounces({ url, status: 'down', reason: 'refused: ECONNREFUSED' });
    await flush();
    assert.equal(health.status(url), 'down');
    assert.equal(transitions.at(-1), 'up->down:refused:peer');
    // What the other instance sees is there for operators.
    expect((await health.peerViews()).map((v) => [v.instance, v.status])).toEqual([
      ['host-b:2', 'down'],
      ['host-b:2', 'down'],
    ]);
    health.onModuleDestroy();
  });

  it('a node failing for clients takes no new session while another is up, and is never the reason nothing can be placed', async () => {
    const { health, url } = await setup();
    expect(health.placeableUrls()).toEqual([url]);
    health.markFailingForClients(url, 'participants of session s lost their media path to it');
    expect(health.clientFailure(url)?.reason).toMatch(/media path/);
    // The only node up: marked or not, it is where sessions go.
    expect(health.placeableUrls()).toEqual([url]);
    health.onModuleDestroy();
  });
});
