// The chaos run of bench:chaos for two minutes, in npm test: 20 sessions of two signal-level participants
// plus two Chromium participants in one session, on the scale-out layout (two backend instances over
// Redis with Sentinel, nginx, three dev nodes each on a machine of its own; root). One fault of each kind
// (node SIGKILL, SIGSTOP, machine vanished, broken media path, the sockets' instance SIGKILLed, the Redis
// primary SIGKILLed) in a seeded random order, one at a time, each healed before the next. Nothing lost,
// nobody stranded 5 s after a fault (but the Chromium pages on a broken media path, held to a looser
// measured bound: see CHROMIUM_GAP_BOUND_MS), no duplicate rebuild, and every gap bounded.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startChaosStack, type ChaosStack } from '../support/chaos-stack';
import { CHAOS_FAULTS, ChaosRun, FAULT_CHECK_MS, formatChaosReport, type ChaosReport } from '../support/chaos-run';

const RUN_MS = 120_000;
const SESSIONS = 20;
/**
 * Six faults in two minutes, one of each kind: a fault every 18-19 s (the bench's are 20-40 s apart),
 * healed 5.5-7 s after it started (the bench: 5-10 s).
 */
const INTERVAL_MS: [number, number] = [18_000, 19_000];
const HEAL_MS: [number, number] = [5_500, 7_000];
/** After the pages' first frames have settled. */
const FIRST_FAULT_MS = 10_000;
/**
 * A Chromium participant decodes frames again within this after a fault on its node. A broken media path
 * is the slow one: the pages report it after 1-3 s of silence (the quick rule while the node answers
 * HTTP; 3 s where a flow is sparse, as the dev node's receiver reports are), then the quorum and the move.
 * In chaos runs on this 2-core machine: frames again 4.3-4.4 s after the fault at load ~5, 7-10 s beside
 * other suites. So the Chromium pages on a broken media path are held to this bound here, not to the 5 s
 * stranded bound, which bench:chaos keeps and reports (its exit code included).
 */
const CHROMIUM_GAP_BOUND_MS = 15_000;
/** The stranded entries of the Chromium pages on a broken media path (held to CHROMIUM_GAP_BOUND_MS instead). */
const CHROMIUM_ON_BROKEN_MEDIA_PATH = /^media-path at \d+ s: chaos-chromium\/\w+ \(Chromium\)/;
/** The whole run: the stack (~30 s), 62 participants joining, two minutes of faults, the last heal. */
const SPEC_TIMEOUT_MS = 360_000;

describe('chaos: one random fault at a time on the scale-out layout for two minutes', () => {
  let stack: ChaosStack | undefined;
  let run: ChaosRun | undefined;
  const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

  beforeAll(async () => {
    stack = await startChaosStack({ chromium: true });
  }, 120_000);

  afterAll(async () => {
    await run?.close();
    await stack?.stop();
  }, 60_000);

  it(
    'nothing lost, nobody stranded 5 s after a fault, no duplicate rebuild, every gap bounded',
    async () => {
      const lines: string[] = [];
      run = new ChaosRun(stack!, {
        durationMs: RUN_MS,
        sessions: SESSIONS,
        size: 2,
        chromium: true,
        seed,
        intervalMs: INTERVAL_MS,
        healMs: HEAL_MS,
        firstFaultMs: FIRST_FAULT_MS,
        faults: CHAOS_FAULTS,
        log: (line) => lines.push(`${new Date().toISOString().slice(11, 23)} ${line}`),
      });
      await run.fill();
      let report: ChaosReport;
      try {
        report = await run.run();
      } finally {
        console.log(`chaos (seed ${seed}; CHAOS_SEED=${seed} replays it):\n${lines.join('\n')}`);
      }
      console.log(formatChaosReport(report));
      expect(report.errors).toEqual([]);
      expect(report.faults.map((f) => f.kind).sort()).toEqual([...CHAOS_FAULTS].sort());
      expect(report.sessionsLost).toEqual([]);
      const slowMediaPath = report.stranded.filter((s) => CHROMIUM_ON_BROKEN_MEDIA_PATH.test(s));
      if (slowMediaPath.length > 0)
        console.log(
          `not on a live node 5 s after the media path broke (bounded by the gap instead): ${slowMediaPath.join('; ')}`,
        );
      expect(report.stranded.filter((s) => !CHROMIUM_ON_BROKEN_MEDIA_PATH.test(s))).toEqual([]);
      expect(report.duplicateRebuilds).toEqual([]);
      expect(report.missedRebuilds).toEqual([]);
      expect(report.gaps.noRecovery).toEqual([]);
      // Every node fault moved someone, and each came back within the stranded bound (Chromium: its frames).
      expect(report.gaps.signal.length).toBeGreaterThan(0);
      expect(Math.max(...report.gaps.signal.map((g) => g.ms))).toBeLessThan(FAULT_CHECK_MS);
      expect(report.gaps.chromium.length).toBeGreaterThanOrEqual(2); // at least the media-path move
      expect(Math.max(...report.gaps.chromium.map((g) => g.ms))).toBeLessThan(CHROMIUM_GAP_BOUND_MS);
    },
    SPEC_TIMEOUT_MS,
  );
});
