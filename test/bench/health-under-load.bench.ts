// Are the backend's health probes fooled by a busy machine? Starts the 3-node dev cluster + backend +
// Chromium, then loads the machine (4 Chromium participants in one session, or CPU burners on every
// core) with NO node stopped, and records:
//   - a side-channel probe of every node's `GET /` from this process, never aborted (true answer latency),
//   - this process's own event-loop delay (so a late answer is not blamed on the node when we were late),
//   - the backend's event-loop lag (its /metrics) and its node transitions (every "-> down" is false here),
//   - CPU use of the backend and node processes.
// Usage: node <outDir>/test/bench/health-under-load.bench.js [--mode browser|burn|both] [--seconds 30]
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { startFailoverStack, type FailoverStack } from '../support/failover-stack';
import { joinThroughPage, sleep, type Participant } from '../support/participant-page';
import { scrapeMetrics } from '../support/session-client';
import { BenchFlags } from './bench-flags';

const flags = new BenchFlags('bench:health-under-load', { mode: { type: 'string' }, seconds: { type: 'string' } });
const MODE = flags.string('mode', 'browser', ['browser', 'burn', 'both'] as const);
const SECONDS = flags.int('seconds', 30);
flags.done();
/** Same cadence as the backend's loop (PROBE_INTERVAL_MS). */
const SIDE_PROBE_INTERVAL_MS = 250;

interface ProbeSample {
  node: string;
  sentAt: number;
  latencyMs: number;
  /** How late our own timer fired: time this process was busy, not the node. */
  timerLateMs: number;
}

function probeOnce(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - started));
      },
    );
    req.on('error', () => resolve(Number.NaN));
    req.end();
  });
}

function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return Number.NaN;
  }
}

function quantiles(values: number[]) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN);
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: Math.round(s[s.length - 1] ?? Number.NaN) };
}

async function appLoopLag(appUrl: string): Promise<{ lagMs: number; maxMs: number }> {
  const text = await scrapeMetrics(appUrl);
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  return {
    lagMs: value('session_rebuilder_nodejs_eventloop_lag_seconds'),
    maxMs: value('session_rebuilder_nodejs_eventloop_lag_max_seconds'),
  };
}

async function main(): Promise<void> {
  const stack: FailoverStack = await startFailoverStack(3);
  const participants: Participant[] = [];
  const burners: ChildProcess[] = [];
  const ownLoop = monitorEventLoopDelay({ resolution: 10 });
  ownLoop.enable();
  const samples: ProbeSample[] = [];
  const appLag: number[] = [];
  const appLagMax: number[] = [];
  let stopping = false;
  const outputBefore = stack.app.output().length;
  const pageLogs: string[] = [];
  try {
    const nodes = stack.cluster.nodes();
    const sideProbes = nodes.map(async (node) => {
      let expected = performance.now() + SIDE_PROBE_INTERVAL_MS;
      const inFlight: Promise<void>[] = [];
      while (!stopping) {
        await sleep(Math.max(0, expected - performance.now()));
        const timerLateMs = performance.now() - expected;
        expected += SIDE_PROBE_INTERVAL_MS;
        const sentAt = Date.now();
        inFlight.push(
          probeOnce(node.port).then(
            (latencyMs) => void samples.push({ node: node.name, sentAt, latencyMs, timerLateMs }),
          ),
        );
      }
      await Promise.all(inFlight);
    });
    const lagWatch = (async () => {
      while (!stopping) {
        await sleep(1000);
        const lag = await appLoopLag(stack.app.url).catch(() => undefined);
        if (lag) {
          appLag.push(lag.lagMs);
          appLagMax.push(lag.maxMs);
        }
      }
    })();
    const pids = { app: stack.app.pid, ...Object.fromEntries(nodes.map((n) => [n.name, n.pid!])) } as Record<
      string,
      number
    >;
    const ticksBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)]));
    const started = Date.now();

    if (MODE === 'browser' || MODE === 'both') {
      const sessionId = `load-${process.pid}`;
      for (const name of ['Ada', 'Grace', 'Linus', 'Barbara'])
        participants.push(await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, name));
      console.log(`4 participants joined after ${Date.now() - started} ms`);
    }
    if (MODE === 'burn' || MODE === 'both') {
      for (let i = 0; i < cpus().length; i++)
        burners.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
    }
    await sleep(SECONDS * 1000);
    const elapsedSec = (Date.now() - started) / 1000;
    const ticksAfter = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)]));
    stopping = true;
    await Promise.all([...sideProbes, lagWatch]);
    ownLoop.disable();
    for (const p of participants) {
      const lines = await p
        .logSince(0)
        .then((log) => log.map((entry) => entry.message))
        .catch(() => [] as string[]);
      pageLogs.push(...lines.filter((l) => /no media node|rejoin|moving|move/i.test(l)).map((l) => `${p.name}: ${l}`));
    }

    const output = stack.app.output().slice(outputBefore);
    const transitions = output.split('\n').filter((l) => / -> (down|suspect|up) /.test(l));
    const rebuilt = output.split('\n').filter((l) => /rebuilt in|waiting for a node/.test(l));
    const report = {
      mode: MODE,
      seconds: SECONDS,
      loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
      cpuPercent: Object.fromEntries(
        Object.keys(pids).map((k) => [k, Math.round(((ticksAfter[k]! - ticksBefore[k]!) / 100 / elapsedSec) * 100)]),
      ),
      sideProbeLatencyMs: Object.fromEntries(
        nodes.map((n) => [n.name, quantiles(samples.filter((s) => s.node === n.name).map((s) => s.latencyMs))]),
      ),
      sideProbesOver450ms: samples.filter((s) => s.latencyMs > 450).length,
      sideProbesOver900ms: samples.filter((s) => s.latencyMs > 900).length,
      sideProbeTotal: samples.length,
      benchTimerLateMs: quantiles(samples.map((s) => s.timerLateMs)),
      benchLoopDelayMs: {
        p50: Math.round(ownLoop.percentile(50) / 1e6),
        p99: Math.round(ownLoop.percentile(99) / 1e6),
        max: Math.round(ownLoop.max / 1e6),
      },
      backendLoopLagMs: { sampled: quantiles(appLag), maxPerSecond: quantiles(appLagMax) },
      backendDowns: transitions.filter((l) => / -> down /.test(l)).length,
      backendSuspects: transitions.filter((l) => / -> suspect /.test(l)).length,
      backendTransitions: transitions.map((l) => l.replace(/^.*?(node ws)/, '$1')).slice(0, 20),
      rebuilds: rebuilt.map((l) => l.replace(/^.*?(session )/, '$1')).slice(0, 20),
      pageLog: pageLogs.slice(0, 20),
      slowestSideProbes: [...samples].sort((a, b) => b.latencyMs - a.latencyMs).slice(0, 8),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    stopping = true;
    for (const b of burners) if (b.pid) process.kill(b.pid, 'SIGKILL');
    await Promise.all(participants.map((p) => p.close()));
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
