import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppConfig } from '../config/app-config';
import { FakeClock } from '../common/fake-clock';
import { FAILURES_TO_DOWN, PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS, SUCCESSES_TO_UP } from './node-health.policy';
import { NodeHealthService } from './node-health.service';
import type { ProbeResult } from './node-health.state';
import type { NodeProber } from './node-prober';

type Behaviour = 'ok' | 'refused' | 'hung' | 'status';

/** A prober whose answers follow the fake clock: a hung node answers only after the timeout elapses. */
class ScriptedProber implements NodeProber {
  behaviour: Behaviour = 'ok';
  probes = 0;
  constructor(private readonly clock: FakeClock) {}
  probe(_url: string, timeoutMs: number): Promise<ProbeResult> {
    this.probes++;
    switch (this.behaviour) {
      case 'ok':
        return Promise.resolve({ ok: true, latencyMs: 1 });
      case 'refused':
        return Promise.resolve({ ok: false, kind: 'refused', detail: 'ECONNREFUSED', latencyMs: 1 });
      case 'status':
        return Promise.resolve({ ok: false, kind: 'status', detail: 'GET / answered 406', latencyMs: 1 });
      case 'hung':
        return new Promise((resolve) => this.clock.setTimeout(() => resolve({ ok: false, kind: 'timeout', detail: 'no answer', latencyMs: timeoutMs }), timeoutMs));
    }
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function run(clock: FakeClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await flush();
  }
}

async function setup() {
  const clock = new FakeClock();
  const prober = new ScriptedProber(clock);
  const config = new AppConfig();
  config.urls = ['ws://node-a:7880'];
  const health = new NodeHealthService(config, prober, clock);
  const transitions: string[] = [];
  health.onTransition((_url, t, trigger) => transitions.push(`${t.from}->${t.to}:${t.cause ?? ''}:${trigger}`));
  await health.onApplicationBootstrap();
  return { clock, prober, health, transitions, url: config.urls[0] };
}

describe(NodeHealthService.name, () => {
  it('is up after the start-up probe and probes every PROBE_INTERVAL_MS', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    assert.equal(health.status(url), 'up');
    assert.deepEqual(transitions, ['unknown->up::startup']);
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

  it('a hung node goes suspect, then down after FAILURES_TO_DOWN timeouts, within ~1.2 s', async () => {
    const { clock, prober, health, transitions, url } = await setup();
    prober.behaviour = 'hung';
    await run(clock, PROBE_INTERVAL_MS + PROBE_TIMEOUT_MS);
    assert.equal(health.status(url), 'suspect');
    await run(clock, PROBE_TIMEOUT_MS * (FAILURES_TO_DOWN - 1));
    assert.equal(health.status(url), 'down');
    assert.deepEqual(transitions.slice(1), ['up->suspect:timeout:loop', 'suspect->down:timeout:loop']);
    assert.ok(PROBE_INTERVAL_MS + FAILURES_TO_DOWN * PROBE_TIMEOUT_MS <= 1200, 'beats LiveKit (5 s) and Jitsi (10 s) by far');
    health.onModuleDestroy();
  });

  it('one bad answer is only suspect; a success clears it', async () => {
    const { clock, prober, health, url } = await setup();
    prober.behaviour = 'status';
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(health.status(url), 'suspect');
    prober.behaviour = 'ok';
    await run(clock, PROBE_INTERVAL_MS);
    assert.equal(health.status(url), 'up');
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

  it('verdict() after a client report decides a refused node at once, between loop probes', async () => {
    const { prober, health, transitions, url } = await setup();
    prober.behaviour = 'refused';
    assert.equal(await health.verdict(url), 'down');
    assert.equal(transitions.at(-1), 'up->down:refused:report');
    prober.behaviour = 'ok';
    assert.equal(await health.verdict('ws://unknown:1'), undefined);
    health.onModuleDestroy();
  });

  it('verdict() on a hung node keeps probing until down', async () => {
    const { clock, prober, health, url } = await setup();
    prober.behaviour = 'hung';
    const verdict = health.verdict(url);
    await run(clock, PROBE_TIMEOUT_MS * FAILURES_TO_DOWN + 20);
    assert.equal(await verdict, 'down');
    health.onModuleDestroy();
  });
});
