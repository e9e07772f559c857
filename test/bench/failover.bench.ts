// `npm run bench:failover`: how long a participant stares at frozen video when the media node under the
// session dies (SIGKILL) or hangs (SIGSTOP), measured in Chromium from the kill to the first newly
// decoded remote frame, split into detection / token / connect / publish / first frame. The same run
// measures livekit-client's default behaviour (plain Room, default options, no backend) for comparison.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AccessToken } from 'livekit-server-sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { startFailoverStack, type FailoverStack } from '../support/failover-stack';
import { expectEveryoneSeesEveryone, joinThroughPage, sleep, type MoveTimingSnapshot, type Participant } from '../support/participant-page';
import { PHASES, RecoveryDetector, renderSvg, summarize, type Phase, type Sample } from './failover-stats';
import { BenchFlags } from './bench-flags';
import { measureMachineLoad, type MachineLoad } from './machine-load';

const ALL_SCENARIOS = ['SIGKILL', 'SIGSTOP'] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];
const flags = new BenchFlags('bench:failover', {
  runs: { type: 'string' },
  sizes: { type: 'string' },
  scenarios: { type: 'string' },
  'no-baseline': { type: 'boolean' },
  verbose: { type: 'boolean' },
});
const RUNS = flags.int('runs', 10);
const SIZES = flags.ints('sizes', [2, 4], 2);
/** --scenarios SIGKILL runs one kind of incident only (quicker iteration). */
const SCENARIOS = flags.words('scenarios', ALL_SCENARIOS, ALL_SCENARIOS);
const BASELINE = !flags.flag('no-baseline');
const VERBOSE = flags.flag('verbose');
flags.done();
/** One incident must be over (every participant decoding again) within this, or the run counts as failed. */
const INCIDENT_TIMEOUT_MS = 20_000;
/** Let webhooks and probes settle between runs so runs do not overlap. */
const SETTLE_MS = 800;
/** livekit-client alone retries the dead URL for ~40 s; wait a bit longer, then report a bound. */
const BASELINE_WAIT_MS = 45_000;
const BASELINE_POLL_MS = 250;
/** Decoding without a pause for this long counts as back (see RecoveryDetector). */
const BASELINE_STEADY_MS = 3_000;
/** For the "same node restarted" baseline: how long the node stays dead. */
const BASELINE_RESTART_AFTER_MS = 1_000;

const TARGETS = { SIGKILL: { medianMs: 1_000, p95Ms: 1_500 }, SIGSTOP: { p95Ms: 3_000 } };

interface BaselineResult {
  variant: string;
  recovered: boolean;
  /** kill -> first newly decoded remote frame, per participant; undefined = never within the wait. */
  recoveryMs: Array<number | undefined>;
  /** What showed each participant's video back. */
  evidence: string[];
  waitedMs: number;
  events: Array<{ participant: number; at: number; event: string; detail?: string }>;
}

/** The machine while one group's run was measured, and that run's median. */
interface RunConditions extends MachineLoad {
  scenario: Scenario;
  participants: number;
  run: number;
  medianMs: number;
}

interface BaselineHook {
  events: Array<{ at: number; event: string; detail?: string }>;
  connect(url: string, token: string): Promise<void>;
  framesDecoded(): Promise<Record<string, number>>;
  receivers(): Promise<Array<{ key: string; framesDecoded: number }>>;
}
declare const window: { __baseline?: BaselineHook };

function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${message}`);
}

async function runIncident(stack: FailoverStack, people: Participant[], scenario: Scenario, run: number): Promise<Sample[]> {
  const before = await Promise.all(people.map(async (p) => (await p.snapshot()).moves.length));
  const hostUrl = (await people[0]!.snapshot()).url!;
  const node = stack.node(hostUrl);
  const killAt = Date.now();
  if (scenario === 'SIGKILL') await stack.cluster.kill(node.name);
  else await stack.cluster.hang(node.name);

  const deadline = killAt + INCIDENT_TIMEOUT_MS;
  let finals: Array<{ moves: MoveTimingSnapshot[]; last?: MoveTimingSnapshot }> = [];
  for (;;) {
    const snaps = await Promise.all(people.map((p) => p.snapshot()));
    finals = snaps.map((snap, i) => {
      const moves = snap.moves.slice(before[i]);
      const last = [...moves].reverse().find((m) => m.outcome === 'done' || m.outcome === 'no-frames' || m.outcome === undefined);
      return { moves, last };
    });
    if (finals.every((f) => f.last && f.last.outcome !== undefined && f.last.firstFrameAt !== undefined && (f.last.allFramesAt !== undefined || f.last.outcome !== 'done' || f.last.expectedRemotes.length === 0)))
      break;
    if (Date.now() > deadline) throw new Error(`${scenario} run ${run}: not everyone recovered within ${INCIDENT_TIMEOUT_MS} ms: ${JSON.stringify(finals.map((f) => f.last))}`);
    await sleep(100);
  }
  // Independent check from outside the library: video is really flowing again everywhere.
  await expectEveryoneSeesEveryone(people, 10_000);

  const samples = finals.map((f, i): Sample => {
    const last = f.last!;
    const detectedAt = Math.min(...f.moves.map((m) => m.detectedAt));
    const phases: Record<Phase, number> = {
      detection: detectedAt - killAt,
      token: last.tokenAt! - detectedAt,
      connect: last.connectedAt! - last.tokenAt!,
      publish: last.publishedAt! - last.connectedAt!,
      firstFrame: last.firstFrameAt! - last.publishedAt!,
    };
    return {
      scenario,
      participants: people.length,
      run,
      participant: people[i]!.name,
      totalMs: last.firstFrameAt! - killAt,
      allRemotesMs: last.allFramesAt !== undefined ? last.allFramesAt - killAt : undefined,
      phases,
      trigger: f.moves[0]?.trigger ?? '?',
      moves: f.moves.length,
      marks: Object.fromEntries(Object.entries(last.marks ?? {}).map(([name, at]) => [name, Math.round(at - last.tokenAt!)])),
    };
  });
  const totals = samples.map((s) => Math.round(s.totalMs));
  log(`${scenario} x${people.length} run ${run}: ${totals.join(' / ')} ms (${samples.map((s) => s.trigger).join(', ')})`);
  for (const s of samples) {
    const steps = PHASES.map((p) => `${p} ${Math.round(s.phases[p])}`).join(', ');
    log(`  ${s.participant}: ${steps}; after token: ${Object.entries(s.marks ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }

  if (scenario === 'SIGKILL') await stack.cluster.restart(node.name);
  else await stack.cluster.resume(node.name);
  await stack.healAll();
  await sleep(SETTLE_MS);
  return samples;
}

async function mintToken(stack: FailoverStack, room: string, identity: string): Promise<string> {
  const token = new AccessToken(stack.cluster.apiKey, stack.cluster.apiSecret, { identity, name: identity, ttl: '10m' });
  token.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  return token.toJwt();
}

/** livekit-client exactly as an app gets it: `new Room()`, default options, token minted once, no backend. */
async function runBaseline(stack: FailoverStack, variant: 'node-stays-dead' | 'same-node-restarted'): Promise<BaselineResult> {
  const node = stack.cluster.nodes()[0]!;
  const room = `baseline-${variant}-${process.pid}`;
  const contexts: BrowserContext[] = [];
  const pages: Page[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const context = await stack.chromium.browser.newContext({ permissions: ['camera', 'microphone'] });
      contexts.push(context);
      const page = await context.newPage();
      pages.push(page);
      await page.goto(`${stack.app.url}/baseline.html`);
      const token = await mintToken(stack, room, `baseline-${i + 1}`);
      await page.evaluate(([url, jwt]) => window.__baseline!.connect(url!, jwt!), [node.url, token]);
    }
    const frames = () => Promise.all(pages.map((page) => page.evaluate(() => window.__baseline!.framesDecoded())));
    const rising = async (deadlineMs: number) => {
      const first = await frames();
      for (;;) {
        await sleep(BASELINE_POLL_MS);
        const next = await frames();
        if (next.every((f, i) => Object.keys(f).length > 0 && Object.entries(f).every(([id, n]) => n > (first[i]![id] ?? 0)))) return true;
        if (Date.now() > deadlineMs) return false;
      }
    };
    if (!(await rising(Date.now() + 15_000))) throw new Error('baseline pages never decoded each other before the kill');

    // Sampled before the kill: frames decoded after it but sent before it must not look like recovery.
    const receivers = () => Promise.all(pages.map((page) => page.evaluate(() => window.__baseline!.receivers())));
    const beforeKill = await receivers();
    const killAt = Date.now();
    await stack.cluster.kill(node.name);
    if (variant === 'same-node-restarted') {
      await sleep(BASELINE_RESTART_AFTER_MS);
      await stack.cluster.restart(node.name);
    }
    const recoveryMs: Array<number | undefined> = pages.map(() => undefined);
    const evidence: string[] = pages.map(() => '');
    const detectors = beforeKill.map((rows) => new RecoveryDetector(rows, BASELINE_POLL_MS, BASELINE_STEADY_MS));
    const deadline = killAt + BASELINE_WAIT_MS;
    while (Date.now() < deadline && recoveryMs.some((v) => v === undefined)) {
      await sleep(BASELINE_POLL_MS);
      const now = await receivers();
      const at = Date.now();
      now.forEach((rows, i) => {
        if (recoveryMs[i] !== undefined) return;
        const back = detectors[i]!.observe(rows, at);
        if (back) {
          recoveryMs[i] = back.at - killAt;
          evidence[i] = back.evidence;
        }
      });
    }
    // Self-check: with its only node dead, a client has nowhere to get video from. A recovery here
    // means the measurement is broken, and every figure beside it is suspect.
    if (variant === 'node-stays-dead' && recoveryMs.some((v) => v !== undefined)) {
      throw new Error(`baseline claims video back while its node is dead (${evidence.filter(Boolean).join('; ')}): the measurement is broken`);
    }
    const events = (
      await Promise.all(pages.map((page, i) => page.evaluate(() => window.__baseline!.events).then((list) => list.map((e) => ({ participant: i + 1, ...e, at: Math.round(e.at - killAt) })))))
    ).flat();
    const result: BaselineResult = {
      variant,
      recovered: recoveryMs.every((v) => v !== undefined),
      recoveryMs,
      evidence,
      waitedMs: Date.now() - killAt,
      events,
    };
    log(`baseline (${variant}): ${result.recovered ? `video back after ${recoveryMs.map((v) => Math.round(v!)).join(' / ')} ms` : `not back within ${BASELINE_WAIT_MS} ms`}`);
    return result;
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await stack.healAll().catch(() => undefined);
  }
}

function summaries(samples: Sample[], conditions: RunConditions[]) {
  const groups: Record<string, unknown> = {};
  for (const scenario of SCENARIOS) {
    for (const size of SIZES) {
      const group = samples.filter((s) => s.scenario === scenario && s.participants === size);
      if (group.length === 0) continue;
      const runs = conditions.filter((c) => c.scenario === scenario && c.participants === size);
      groups[`${scenario} x${size}`] = {
        totalMs: summarize(group.map((s) => s.totalMs)),
        // Spread across runs: each run's median, and how busy the machine was meanwhile.
        runMediansMs: summarize(runs.map((r) => r.medianMs)),
        runMedianMinMs: Math.min(...runs.map((r) => r.medianMs)),
        load1: summarize(runs.map((r) => r.load1)),
        idlePct: summarize(runs.map((r) => r.idlePct)),
        allRemotesMs: summarize(group.flatMap((s) => (s.allRemotesMs === undefined ? [] : [s.allRemotesMs]))),
        phases: Object.fromEntries(PHASES.map((phase) => [phase, summarize(group.map((s) => s.phases[phase]))])),
        marksAfterToken: Object.fromEntries(
          [...new Set(group.flatMap((s) => Object.keys(s.marks ?? {})))].map((name) => [
            name,
            summarize(group.flatMap((s) => (s.marks?.[name] === undefined ? [] : [s.marks[name]!]))),
          ]),
        ),
      };
    }
    const all = samples.filter((s) => s.scenario === scenario);
    if (all.length) groups[`${scenario} (all sizes)`] = { totalMs: summarize(all.map((s) => s.totalMs)) };
  }
  return groups;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const outDir = resolve(process.cwd(), 'bench-results');
  mkdirSync(outDir, { recursive: true });
  log(`failover benchmark: ${RUNS} runs x ${SCENARIOS.join('/')} x ${SIZES.join('/')} participants, 3 dev nodes`);
  const stack = await startFailoverStack(3, { verbose: VERBOSE });
  const samples: Sample[] = [];
  const failures: string[] = [];
  const baselines: BaselineResult[] = [];
  const conditions: RunConditions[] = [];
  const groups = SCENARIOS.flatMap((scenario) => SIZES.map((size) => ({ scenario, size })));
  try {
    await stack.healAll();
    // Interleaved: one run of every group per round, the order rotating, so a busy spell of the machine
    // lands on all groups alike instead of on whichever group happened to be running then.
    for (let run = 1; run <= RUNS; run++) {
      for (let g = 0; g < groups.length; g++) {
        const { scenario, size } = groups[(g + run - 1) % groups.length]!;
        const people: Participant[] = [];
        try {
          const sessionId = `bench-${scenario.toLowerCase()}-${size}-${run}-${process.pid}`;
          for (let i = 0; i < size; i++) people.push(await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, `P${i + 1}`));
          await expectEveryoneSeesEveryone(people, 20_000);
          const load = measureMachineLoad();
          const runSamples = await runIncident(stack, people, scenario, run);
          samples.push(...runSamples);
          const during = load();
          conditions.push({ scenario, participants: size, run, ...during, medianMs: summarize(runSamples.map((x) => x.totalMs)).median });
          log(`  machine: load ${during.load1}, ${during.idlePct} % idle during the incident`);
        } catch (err) {
          failures.push(`${scenario} x${size} run ${run}: ${(err as Error).message}`);
          log(`FAILED ${failures[failures.length - 1]}`);
        } finally {
          await Promise.all(people.map((p) => p.close()));
          await stack.healAll().catch(() => undefined);
        }
      }
    }
    if (BASELINE) {
      baselines.push(await runBaseline(stack, 'node-stays-dead'));
      baselines.push(await runBaseline(stack, 'same-node-restarted'));
    }
  } finally {
    await stack.stop();
  }

  const durationMs = Date.now() - startedAt;
  const summary = summaries(samples, conditions);
  const report = {
    generatedAt: new Date().toISOString(),
    durationMs,
    machine: { cpus: require('node:os').cpus().length, node: process.version },
    settings: { runs: RUNS, sizes: SIZES, nodes: 3, video: '320x180@15 VP8, no simulcast' },
    targets: TARGETS,
    summary,
    baseline: baselines,
    failures,
    conditions,
    samples,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(outDir, `failover-${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(outDir, 'failover-latest.json'), JSON.stringify(report, null, 2));
  const dead = baselines.find((b) => b.variant === 'node-stays-dead');
  const restarted = baselines.find((b) => b.variant === 'same-node-restarted');
  const footnote =
    `livekit-client defaults, same kill, no backend: ${dead ? (dead.recovered ? `back after ${Math.max(...dead.recoveryMs.map(Number))} ms` : `not back after ${Math.round(dead.waitedMs / 1000)} s`) : 'not measured'}` +
    `${restarted ? `; same node restarted after 1 s: ${restarted.recovered ? `${Math.max(...restarted.recoveryMs.map(Number))} ms` : `not back in ${Math.round(restarted.waitedMs / 1000)} s`}` : ''}. Tutorial: 3-4 s.`;
  const svg = renderSvg(
    SCENARIOS.flatMap((scenario) =>
      SIZES.map((size) => ({
        label: `${scenario}, ${size} participants`,
        samples: samples.filter((s) => s.scenario === scenario && s.participants === size),
        targetP95Ms: TARGETS[scenario].p95Ms,
      })),
    ),
    'Kill -> first newly decoded remote frame (Chromium, 3-node dev cluster)',
    footnote,
  );
  writeFileSync(join(outDir, `failover-${stamp}.svg`), svg);
  writeFileSync(join(outDir, 'failover-latest.svg'), svg);

  console.log(`\nkill -> first newly decoded remote frame (ms); ${RUNS} rounds, groups interleaved; ${require('node:os').cpus().length} cpus`);
  console.log('group                 n    median   p95     max    | median phases: detect/token/connect/publish/frame | all remotes p95 | run medians min/med/max | load (med) | idle % (med)');
  for (const [name, value] of Object.entries(summary)) {
    const v = value as {
      totalMs: ReturnType<typeof summarize>;
      phases?: Record<Phase, ReturnType<typeof summarize>>;
      allRemotesMs?: ReturnType<typeof summarize>;
      runMediansMs?: ReturnType<typeof summarize>;
      runMedianMinMs?: number;
      load1?: ReturnType<typeof summarize>;
      idlePct?: ReturnType<typeof summarize>;
    };
    const phases = v.phases ? PHASES.map((p) => Math.round(v.phases![p].median)).join('/') : '';
    const spread = v.runMediansMs ? `${Math.round(v.runMedianMinMs!)}/${Math.round(v.runMediansMs.median)}/${Math.round(v.runMediansMs.max)}` : '';
    const machine = v.load1 ? `${v.load1.median.toFixed(2).padStart(10)} | ${v.idlePct!.median.toFixed(1).padStart(11)}` : '';
    console.log(
      `${name.padEnd(20)} ${String(v.totalMs.count).padStart(3)} ${fmt(v.totalMs.median)} ${fmt(v.totalMs.p95)} ${fmt(v.totalMs.max)} | ${phases.padEnd(48)} | ${v.allRemotesMs ? fmt(v.allRemotesMs.p95).padEnd(15) : ''.padEnd(15)} | ${spread.padEnd(23)} | ${machine}`,
    );
  }
  for (const [name, value] of Object.entries(summary)) {
    const marks = (value as { marksAfterToken?: Record<string, ReturnType<typeof summarize>> }).marksAfterToken;
    if (marks) console.log(`${name}: median ms after token: ${Object.entries(marks).map(([k, v]) => `${k} ${Math.round(v.median)}`).join(', ')}`);
  }
  console.log(footnote);
  if (failures.length) console.log(`failed runs (${failures.length}):\n  ${failures.join('\n  ')}`);
  console.log(`wrote ${join(outDir, 'failover-latest.json')} and .svg; total duration ${(durationMs / 1000).toFixed(0)} s`);
  if (failures.length > 0 || samples.length === 0) process.exitCode = 1;
}

function fmt(ms: number): string {
  return (Number.isFinite(ms) ? String(Math.round(ms)) : 'n/a').padStart(7);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
