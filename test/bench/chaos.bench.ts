// bench:chaos: the scale-out layout (two backend instances over Redis with Sentinel, nginx, three dev
// media nodes each on a machine of its own; root, for the network namespaces) under one random fault at a
// time for --minutes N: node SIGKILL, node SIGSTOP, machine vanished, broken media path, the backend
// instance holding the sockets SIGKILLed, the Redis primary SIGKILLed; each healed after a while. About
// 100 sessions of two signal-level participants plus two Chromium participants in one session.
// Reports sessions lost, participants stranded 5 s after a fault, duplicate rebuilds (each must be 0:
// exit code 1 otherwise), the media gap per participant, and the instances' memory (test/support/chaos-run.ts).
//   node dist-test/test/bench/chaos.bench.js [--minutes 10] [--sessions 100] [--size 2] [--seed N]
//     [--faults node-sigkill,node-sigstop,...] [--no-chromium]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { BenchFlags } from './bench-flags';
import { measureMachineLoad } from './machine-load';
import { startChaosStack, type ChaosStack } from '../support/chaos-stack';
import { CHAOS_FAULTS, ChaosRun, chaosPassed, formatChaosReport } from '../support/chaos-run';

const flags = new BenchFlags('bench:chaos', {
  minutes: { type: 'string' },
  sessions: { type: 'string' },
  size: { type: 'string' },
  seed: { type: 'string' },
  faults: { type: 'string' },
  'no-chromium': { type: 'boolean' },
});
const MINUTES = flags.int('minutes', 10);
const SESSIONS = flags.int('sessions', 100);
const SIZE = flags.int('size', 2);
const SEED = flags.int('seed', Math.floor(Math.random() * 2 ** 31), 0);
const FAULTS = flags.words('faults', CHAOS_FAULTS, CHAOS_FAULTS);
const CHROMIUM = !flags.flag('no-chromium');
flags.done();

const OUT_DIR = resolve(process.cwd(), 'bench-results');

function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${message}`);
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  log(
    `chaos: ${MINUTES} min, ${SESSIONS} sessions x ${SIZE} signal-level participants${CHROMIUM ? ' + 2 Chromium participants' : ''}, ` +
      `faults ${FAULTS.join(', ')}; seed ${SEED} (--seed ${SEED} replays this draw)`,
  );
  let stack: ChaosStack | undefined;
  let run: ChaosRun | undefined;
  let failed: boolean;
  try {
    stack = await startChaosStack({ chromium: CHROMIUM });
    run = new ChaosRun(stack, {
      durationMs: MINUTES * 60_000,
      sessions: SESSIONS,
      size: SIZE,
      chromium: CHROMIUM,
      seed: SEED,
      intervalMs: [20_000, 40_000],
      healMs: [5_000, 10_000],
      firstFaultMs: 10_000,
      faults: FAULTS,
      log,
    });
    const joinedIn = performance.now();
    await run.fill();
    log(
      `${run.signal.length + run.pages.length} participants joined in ${((performance.now() - joinedIn) / 1000).toFixed(1)} s`,
    );
    const load = measureMachineLoad();
    const report = await run.run();
    const machine = { cpus: cpus().length, node: process.version, ...load() };
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const json = JSON.stringify({ generatedAt: new Date().toISOString(), machine, ...report }, null, 2);
    writeFileSync(join(OUT_DIR, `chaos-${stamp}.json`), json);
    writeFileSync(join(OUT_DIR, 'chaos-latest.json'), json);
    console.log(
      `\n${formatChaosReport(report)}\n\nmachine: ${machine.cpus} cpus, load ${machine.load1} at the start, ${machine.idlePct}% idle during the run`,
    );
    console.log(`wrote ${join(OUT_DIR, 'chaos-latest.json')}`);
    failed = !chaosPassed(report);
  } catch (error) {
    console.error(error);
    failed = true;
  } finally {
    await run?.close().catch(() => undefined);
    await stack?.stop().catch((error: unknown) => {
      console.error(error);
      failed = true;
    });
  }
  process.exit(failed ? 1 : 0);
}

void main();
