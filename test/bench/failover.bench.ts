// `npm run bench:failover`: how long a participant stares at frozen video when the media node under the
// session dies (SIGKILL) or hangs (SIGSTOP), measured in Chromium from the kill to the first newly
// decoded remote frame, split into detection / token / connect / publish / first frame. The same run
// measures livekit-client's default behaviour (plain Room, default options, no backend) for comparison.
// On LiveKit's own cluster (two members sharing a Redis behind one nginx URL) two groups run side by
// side, interleaved: ours (the backend in cluster mode, SIGKILL of the member holding the room) and
// LiveKit alone (livekit-client defaults, no backend, the same kill), each a sample per run.
// With --netns every independent node runs on a machine of its own (a network namespace, as root), and two
// faults a process on a healthy machine cannot show join SIGKILL in the same run: the machine vanishes
// (its link down: nothing answers, nothing resets) and its media path breaks (its UDP dropped while its
// signal port still answers the probes; the participants' own reports move the session).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { AccessToken } from 'livekit-server-sdk';
import type { BrowserContext, Page } from 'playwright-core';
import { startBaselinePageServer, type BaselinePageServer } from '../support/baseline-page';
import { ENGINE_NAMES, type MediaCluster, type MediaEngine, type MediaNodeInfo } from '../support/engines';
import { startFailoverStack, type FailoverStack } from '../support/failover-stack';
import {
  expectEveryoneSeesEveryone,
  joinThroughPage,
  sleep,
  type MoveTimingSnapshot,
  type Participant,
} from '../support/participant-page';
import { PHASES, RecoveryDetector, renderSvg, summarize, type Phase, type Sample } from './failover-stats';
import { BenchFlags } from './bench-flags';
import { startClusterFailoverStack, type ClusterFailoverStack } from './cluster-stack';
import { startLiveKitPeer, type LiveKitPeer } from './livekit-peer';
import { measureMachineLoad, type MachineLoad } from './machine-load';
import { startNetnsStack, type NetnsFault } from '../support/netns-stack';

const ALL_SCENARIOS = ['SIGKILL', 'SIGSTOP', 'vanish', 'media-path'] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];
/** The faults only a node on a machine of its own can take (--netns). */
const NETNS_FAULTS: readonly Scenario[] = ['vanish', 'media-path'] satisfies NetnsFault[];
const flags = new BenchFlags('bench:failover', {
  engine: { type: 'string' },
  runs: { type: 'string' },
  sizes: { type: 'string' },
  scenarios: { type: 'string' },
  'no-baseline': { type: 'boolean' },
  'no-peer': { type: 'boolean' },
  netns: { type: 'boolean' },
  verbose: { type: 'boolean' },
});
/**
 * What the media runs on: `livekit-cluster` is LiveKit's own cluster (real LiveKit only), the backend in
 * cluster mode; `dev` and `livekit` are independent nodes of either engine.
 */
type Topology = MediaEngine | 'livekit-cluster';
const TOPOLOGY_NAMES: Record<Topology, string> = { ...ENGINE_NAMES, 'livekit-cluster': "LiveKit's own cluster" };
/**
 * --engine dev|livekit|both|cluster|real|all: the embedded dev cluster, the real LiveKit server (independent
 * nodes), both side by side, LiveKit's own cluster (ours and LiveKit alone), the real server's two
 * topologies side by side, or all three.
 */
const ENGINE_CHOICE = flags.string('engine', 'all', ['dev', 'livekit', 'both', 'cluster', 'real', 'all'] as const);
const BENCH_TOPOLOGIES: Topology[] = {
  dev: ['dev'] as Topology[],
  livekit: ['livekit'] as Topology[],
  both: ['dev', 'livekit'] as Topology[],
  cluster: ['livekit-cluster'] as Topology[],
  real: ['livekit', 'livekit-cluster'] as Topology[],
  all: ['dev', 'livekit', 'livekit-cluster'] as Topology[],
}[ENGINE_CHOICE];
/** The independent-node engines among them: the stacks the single-node baselines run on. */
const BENCH_ENGINES = BENCH_TOPOLOGIES.filter((t): t is MediaEngine => t !== 'livekit-cluster');
const CLUSTER = BENCH_TOPOLOGIES.includes('livekit-cluster');
/** LiveKit's own cluster: its members (LiveKit's multi-node guide's smallest). */
const CLUSTER_MEMBERS = 2;
/**
 * The incidents on LiveKit's own cluster: a member's SIGKILL. A hung member (SIGSTOP) in cluster mode is
 * left out: LiveKit alone has no comparable figure for it here (its peer is measured on SIGKILL).
 */
const CLUSTER_SCENARIOS: readonly Scenario[] = ['SIGKILL'];
/**
 * --netns: the independent nodes each on a machine of its own (network namespace, veth pair, nftables;
 * needs root), SIGKILL then measured side by side with the machine vanishing and its media path breaking.
 */
const NETNS = flags.flag('netns');
const RUNS = flags.int('runs', 10);
const SIZES = flags.ints('sizes', [2, 4], 2);
/** --scenarios SIGKILL runs one kind of incident only (quicker iteration). */
const SCENARIOS = flags.words(
  'scenarios',
  ALL_SCENARIOS.filter((scenario) => NETNS_FAULTS.includes(scenario) === NETNS || scenario === 'SIGKILL'),
  ALL_SCENARIOS,
);
if (!NETNS && SCENARIOS.some((scenario) => NETNS_FAULTS.includes(scenario))) {
  console.error(`bench:failover: --scenarios ${NETNS_FAULTS.join(', ')} need --netns (nodes on machines of their own)`);
  process.exit(2);
}
const BASELINE = !flags.flag('no-baseline');
/**
 * LiveKit's own multi-node recovery (needs the built server, redis-server and nginx): once per run,
 * interleaved with the groups, when LiveKit's cluster is benched; else once after the runs.
 */
const PEER = !flags.flag('no-peer');
const VERBOSE = flags.flag('verbose');
/** The LiveKit peer takes a turn in each round, as one more group, when LiveKit's cluster is benched. */
const PEER_EACH_RUN = PEER && CLUSTER;
flags.done();
/** One incident must be over (every participant decoding again) within this, or the run counts as failed. */
const INCIDENT_TIMEOUT_MS = 20_000;
/** Let webhooks and probes settle between runs so runs do not overlap. */
const SETTLE_MS = 800;
/**
 * Each fault comes once everyone has been decoding everyone for this long (each run is a fresh session),
 * as a fault meets a session that has been running: a Room's media-path watcher learns its flows' pauses
 * in its first second (QUICK_MIN_PAUSES), and a fault within that second gets its 3 s rule.
 */
const STEADY_BEFORE_FAULT_MS = 3_000;
/** livekit-client alone retries the dead URL for ~40 s; wait a bit longer, then report a bound. */
const BASELINE_WAIT_MS = 45_000;
const BASELINE_POLL_MS = 250;
/** Decoding without a pause for this long counts as back (see RecoveryDetector). */
const BASELINE_STEADY_MS = 3_000;
/** LiveKit's own recovery (2 nodes, Redis, nginx): how long to wait for it. */
const PEER_WAIT_MS = 60_000;
/** For the "same node restarted" baseline: how long the node stays dead. */
const BASELINE_RESTART_AFTER_MS = 1_000;

/** media-path: issue 20's target; vanish: bounded by the probes' verdict, as a hang is. */
const TARGETS = {
  SIGKILL: { medianMs: 1_000, p95Ms: 1_500 },
  SIGSTOP: { p95Ms: 3_000 },
  vanish: { p95Ms: 3_000 },
  'media-path': { p95Ms: 3_000 },
};
/** On LiveKit's own cluster, 2 participants: ours, and how many times faster than LiveKit alone (medians). */
const CLUSTER_TARGETS = { medianMs: 1_000, timesFasterThanLiveKitAlone: 10 };

interface BaselineResult {
  engine: MediaEngine;
  /** The run it belongs to (the LiveKit peer, measured once per run); undefined for the once-only baselines. */
  run?: number;
  variant: 'node-stays-dead' | 'same-node-restarted' | 'livekit-multi-node-peer';
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
  engine: Topology;
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

/** What a group's runs need of its stack, whatever the topology. */
interface BenchStack {
  cluster: MediaCluster;
  app: FailoverStack['app'];
  chromium: FailoverStack['chromium'];
  /** The node holding a session now: the one at its URL, or in LiveKit's cluster the one room_node_map names. */
  hostOf(sessionId: string, sessionUrl: string): Promise<MediaNodeInfo>;
  /** Nodes on machines of their own (--netns) only: a machine's fault, undone by healAll(). */
  inject?(node: string, fault: NetnsFault): void;
  healAll(): Promise<void>;
  stop(): Promise<void>;
}

function independentStack(stack: FailoverStack): BenchStack {
  return {
    cluster: stack.cluster,
    app: stack.app,
    chromium: stack.chromium,
    hostOf: async (_sessionId, url) => stack.node(url),
    healAll: () => stack.healAll(),
    stop: () => stack.stop(),
  };
}

function clusterStack(stack: ClusterFailoverStack): BenchStack {
  return {
    cluster: stack.cluster,
    app: stack.app,
    chromium: stack.chromium,
    hostOf: (sessionId) => stack.roomMember(sessionId),
    healAll: () => stack.healAll(),
    stop: () => stack.stop(),
  };
}

function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${message}`);
}

async function runIncident(
  stack: BenchStack,
  engine: Topology,
  sessionId: string,
  people: Participant[],
  scenario: Scenario,
  run: number,
): Promise<Sample[]> {
  // The caller has just seen everyone decoding everyone: the fault meets a session that has run a while.
  await sleep(STEADY_BEFORE_FAULT_MS);
  const before = await Promise.all(people.map(async (p) => (await p.snapshot()).moves.length));
  const hostUrl = (await people[0]!.snapshot()).url!;
  const node = await stack.hostOf(sessionId, hostUrl);
  const killAt = Date.now();
  if (scenario === 'SIGKILL') await stack.cluster.kill(node.name);
  else if (scenario === 'SIGSTOP') await stack.cluster.hang(node.name);
  else if (stack.inject) stack.inject(node.name, scenario);
  else throw new Error(`${scenario} needs nodes on machines of their own (--netns)`);

  const deadline = killAt + INCIDENT_TIMEOUT_MS;
  let finals: Array<{ moves: MoveTimingSnapshot[]; last?: MoveTimingSnapshot }>;
  for (;;) {
    const snaps = await Promise.all(people.map((p) => p.snapshot()));
    finals = snaps.map((snap, i) => {
      const moves = snap.moves.slice(before[i]);
      const last = [...moves]
        .reverse()
        .find((m) => m.outcome === 'done' || m.outcome === 'no-frames' || m.outcome === undefined);
      return { moves, last };
    });
    if (
      finals.every(
        (f) =>
          f.last &&
          f.last.outcome !== undefined &&
          f.last.firstFrameAt !== undefined &&
          (f.last.allFramesAt !== undefined || f.last.outcome !== 'done' || f.last.expectedRemotes.length === 0),
      )
    )
      break;
    if (Date.now() > deadline)
      throw new Error(
        `${scenario} run ${run}: not everyone recovered within ${INCIDENT_TIMEOUT_MS} ms: ${JSON.stringify(finals.map((f) => f.last))}`,
      );
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
      engine,
      scenario,
      participants: people.length,
      run,
      participant: people[i]!.name,
      totalMs: last.firstFrameAt! - killAt,
      allRemotesMs: last.allFramesAt !== undefined ? last.allFramesAt - killAt : undefined,
      phases,
      trigger: f.moves[0]?.trigger ?? '?',
      moves: f.moves.length,
      marks: Object.fromEntries(
        Object.entries(last.marks ?? {}).map(([name, at]) => [name, Math.round(at - last.tokenAt!)]),
      ),
    };
  });
  const totals = samples.map((s) => Math.round(s.totalMs));
  log(
    `${engine} ${scenario} x${people.length} run ${run}: ${totals.join(' / ')} ms (${samples.map((s) => s.trigger).join(', ')})`,
  );
  // Why each page reported a path it lost (which rule, after how long): its own log's word.
  if (scenario === 'media-path')
    for (const person of people)
      for (const entry of await person.logSince(killAt))
        if (/media path/.test(entry.message)) log(`  ${person.name} +${entry.at - killAt} ms: ${entry.message}`);
  for (const s of samples) {
    const steps = PHASES.map((p) => `${p} ${Math.round(s.phases[p])}`).join(', ');
    log(
      `  ${s.participant}: ${steps}; after token: ${Object.entries(s.marks ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }

  if (scenario === 'SIGKILL') await stack.cluster.restart(node.name);
  else if (scenario === 'SIGSTOP') await stack.cluster.resume(node.name);
  // A machine's fault is undone by healAll().
  await stack.healAll();
  await sleep(SETTLE_MS);
  return samples;
}

function mintToken(apiKey: string, apiSecret: string, room: string, identity: string): Promise<string> {
  const token = new AccessToken(apiKey, apiSecret, { identity, name: identity, ttl: '10m' });
  token.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  return token.toJwt();
}

/** Two pages of plain livekit-client (`new Room()`, default options, no backend), decoding each other. */
async function openBaselinePages(chromium: FailoverStack['chromium'], pageUrl: string, url: string, tokens: string[]) {
  const contexts: BrowserContext[] = [];
  const pages: Page[] = [];
  const close = () => Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  try {
    for (const token of tokens) {
      // Served by baselinePage, not by our backend: no Content-Security-Policy stands between these
      // pages and any node, the LiveKit peer's nginx URL included.
      const context = await chromium.browser.newContext({ permissions: ['camera', 'microphone'] });
      contexts.push(context);
      const page = await context.newPage();
      pages.push(page);
      await page.goto(pageUrl);
      await page.evaluate(([u, jwt]) => window.__baseline!.connect(u!, jwt!), [url, token]);
    }
    const receivers = () => Promise.all(pages.map((page) => page.evaluate(() => window.__baseline!.receivers())));
    const deadline = Date.now() + 15_000;
    for (let first = await receivers(); ;) {
      await sleep(BASELINE_POLL_MS);
      const next = await receivers();
      if (
        next.every(
          (rows, i) =>
            rows.length > 0 &&
            rows.every((r) => r.framesDecoded > (first[i]!.find((f) => f.key === r.key)?.framesDecoded ?? 0)),
        )
      )
        break;
      if (Date.now() > deadline) throw new Error('baseline pages never decoded each other before the kill');
      first = next;
    }
    return { pages, receivers, close };
  } catch (error) {
    await close();
    throw error;
  }
}

type BaselinePages = Awaited<ReturnType<typeof openBaselinePages>>;

/** Polls the pages after a kill until each one's video is back (RecoveryDetector) or `waitMs` pass. */
async function measureRecovery(
  pages: BaselinePages,
  beforeKill: Awaited<ReturnType<BaselinePages['receivers']>>,
  killAt: number,
  waitMs: number,
) {
  const recoveryMs: Array<number | undefined> = beforeKill.map(() => undefined);
  const evidence: string[] = beforeKill.map(() => '');
  const detectors = beforeKill.map((rows) => new RecoveryDetector(rows, BASELINE_POLL_MS, BASELINE_STEADY_MS));
  while (Date.now() < killAt + waitMs && recoveryMs.some((v) => v === undefined)) {
    await sleep(BASELINE_POLL_MS);
    const now = await pages.receivers();
    const at = Date.now();
    now.forEach((rows, i) => {
      const back = recoveryMs[i] === undefined ? detectors[i]!.observe(rows, at) : undefined;
      if (back) {
        recoveryMs[i] = back.at - killAt;
        evidence[i] = back.evidence;
      }
    });
  }
  const events = (
    await Promise.all(
      pages.pages.map((page, i) =>
        page
          .evaluate(() => window.__baseline!.events)
          .then((list) => list.map((e) => ({ participant: i + 1, ...e, at: Math.round(e.at - killAt) }))),
      ),
    )
  ).flat();
  return {
    recovered: recoveryMs.every((v) => v !== undefined),
    recoveryMs,
    evidence,
    waitedMs: Date.now() - killAt,
    events,
  };
}

function logBaseline(result: BaselineResult, waitMs: number): BaselineResult {
  const back = result.recoveryMs.map((v) => Math.round(v!)).join(' / ');
  log(
    `baseline ${result.engine} (${result.variant}): ${result.recovered ? `video back after ${back} ms` : `not back within ${waitMs} ms`}`,
  );
  return result;
}

/** livekit-client exactly as an app gets it: `new Room()`, default options, token minted once, no backend. */
async function runBaseline(
  stack: FailoverStack,
  baselinePage: BaselinePageServer,
  engine: MediaEngine,
  variant: 'node-stays-dead' | 'same-node-restarted',
): Promise<BaselineResult> {
  const node = stack.cluster.nodes()[0]!;
  const room = `baseline-${engine}-${variant}-${process.pid}`;
  const tokens = await Promise.all(
    [1, 2].map((i) => mintToken(stack.cluster.apiKey, stack.cluster.apiSecret, room, `baseline-${i}`)),
  );
  const pages = await openBaselinePages(stack.chromium, baselinePage.pageUrl, node.url, tokens);
  try {
    // Sampled before the kill: frames decoded after it but sent before it must not look like recovery.
    const beforeKill = await pages.receivers();
    const killAt = Date.now();
    await stack.cluster.kill(node.name);
    if (variant === 'same-node-restarted') {
      await sleep(BASELINE_RESTART_AFTER_MS);
      await stack.cluster.restart(node.name);
    }
    const measured = await measureRecovery(pages, beforeKill, killAt, BASELINE_WAIT_MS);
    // Self-check: with its only node dead, a client has nowhere to get video from. A recovery here
    // means the measurement is broken, and every figure beside it is suspect.
    if (variant === 'node-stays-dead' && measured.recoveryMs.some((v) => v !== undefined)) {
      throw new Error(
        `baseline claims video back while its node is dead (${measured.evidence.filter(Boolean).join('; ')}): the measurement is broken`,
      );
    }
    return logBaseline({ engine, variant, ...measured }, BASELINE_WAIT_MS);
  } finally {
    await pages.close();
    await stack.healAll().catch(() => undefined);
  }
}

const PEER_API_KEY = 'APIpeer';
const PEER_API_SECRET = 'peer-secret-peer-secret-peer-secret';
/** The peer's killed member restarted, registered and serving again before its next run. */
const PEER_HEAL_TIMEOUT_MS = 15_000;

/**
 * LiveKit's own recovery, one run: LiveKit's own cluster (two nodes sharing Redis, each on its own
 * 127.0.0.x, behind one nginx URL), livekit-client defaults, a room of its own. The node hosting the room
 * (Redis `room_node_map`) is SIGKILLed and stays dead for the run; the clients may reconnect through
 * nginx to the survivor. Then the node is restarted and registered again for the next run.
 */
async function runLiveKitPeer(
  peer: LiveKitPeer,
  chromium: BenchStack['chromium'],
  baselinePage: BaselinePageServer,
  run: number,
): Promise<BaselineResult> {
  await peer.heal(PEER_HEAL_TIMEOUT_MS);
  const room = `peer-${run}-${process.pid}`;
  const tokens = await Promise.all([1, 2].map((i) => mintToken(PEER_API_KEY, PEER_API_SECRET, room, `peer-${i}`)));
  const pages = await openBaselinePages(chromium, baselinePage.pageUrl, peer.cluster.clusterUrl, tokens);
  try {
    const node = await peer.roomNode(room);
    log(`peer run ${run}: room ${room} is on ${node.name} (${node.host}, ${node.livekitNodeId ?? '?'}); SIGKILL`);
    const beforeKill = await pages.receivers();
    const killAt = Date.now();
    await peer.cluster.kill(node.name);
    const measured = await measureRecovery(pages, beforeKill, killAt, PEER_WAIT_MS);
    return logBaseline({ engine: 'livekit', variant: 'livekit-multi-node-peer', run, ...measured }, PEER_WAIT_MS);
  } finally {
    await pages.close();
    await peer.heal(PEER_HEAL_TIMEOUT_MS).catch(() => undefined);
  }
}

/** The LiveKit peer's runs as one group: a participant never back within the wait counts as never (Infinity). */
function peerSummary(baselines: BaselineResult[]) {
  const runs = baselines.filter((b) => b.variant === 'livekit-multi-node-peer');
  return {
    runs: runs.length,
    notBack: runs.flatMap((b) => b.recoveryMs).filter((v) => v === undefined).length,
    totalMs: summarize(runs.flatMap((b) => b.recoveryMs.map((v) => v ?? Infinity))),
  };
}

function summaries(samples: Sample[], conditions: RunConditions[]) {
  const groups: Record<string, unknown> = {};
  for (const engine of BENCH_TOPOLOGIES)
    for (const scenario of SCENARIOS) {
      for (const size of SIZES) {
        const group = samples.filter((s) => s.engine === engine && s.scenario === scenario && s.participants === size);
        if (group.length === 0) continue;
        const runs = conditions.filter(
          (c) => c.engine === engine && c.scenario === scenario && c.participants === size,
        );
        groups[`${engine} ${scenario} x${size}`] = {
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
              summarize(group.flatMap((s) => (s.marks?.[name] === undefined ? [] : [s.marks[name]]))),
            ]),
          ),
        };
      }
      const all = samples.filter((s) => s.engine === engine && s.scenario === scenario);
      if (all.length) groups[`${engine} ${scenario} (all)`] = { totalMs: summarize(all.map((s) => s.totalMs)) };
    }
  return groups;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const outDir = resolve(process.cwd(), 'bench-results');
  mkdirSync(outDir, { recursive: true });
  log(
    `failover benchmark: ${RUNS} runs x ${SCENARIOS.join('/')} x ${SIZES.join('/')} participants, on ${BENCH_ENGINES.map(
      (e) => `${ENGINE_NAMES[e]} (3 nodes)`,
    )
      .concat(
        CLUSTER
          ? [`${TOPOLOGY_NAMES['livekit-cluster']} (${CLUSTER_MEMBERS} members, ${CLUSTER_SCENARIOS.join('/')})`]
          : [],
      )
      .join(' and ')}${PEER ? `; LiveKit alone on its own cluster ${PEER_EACH_RUN ? 'once per run' : 'once'}` : ''}`,
  );
  const stacks = new Map<Topology, BenchStack>();
  /** The independent-node stacks, for the single-node baselines. */
  const independent = new Map<MediaEngine, FailoverStack>();
  let peer: LiveKitPeer | undefined;
  let baselinePage: BaselinePageServer | undefined;
  const samples: Sample[] = [];
  const failures: string[] = [];
  const baselines: BaselineResult[] = [];
  const conditions: RunConditions[] = [];
  const groups = BENCH_TOPOLOGIES.flatMap((engine) =>
    SCENARIOS.filter((scenario) => engine !== 'livekit-cluster' || CLUSTER_SCENARIOS.includes(scenario)).flatMap(
      (scenario) => SIZES.map((size) => ({ engine, scenario, size })),
    ),
  );
  try {
    // Before the stacks: a missing build:baseline fails at once, not after every run.
    if (BASELINE || PEER) baselinePage = await startBaselinePageServer();
    for (const engine of BENCH_ENGINES) {
      if (NETNS) {
        // No single-node baselines here: they kill a node of a loopback stack.
        const stack = await startNetnsStack(engine, 3, { verbose: VERBOSE });
        stacks.set(engine, {
          cluster: stack.cluster,
          app: stack.app,
          chromium: stack.chromium,
          hostOf: async (_sessionId, url) => stack.node(url),
          inject: (node, fault) => stack.cluster.inject(node, fault),
          healAll: () => stack.healAll(),
          stop: () => stack.stop(),
        });
        continue;
      }
      const stack = await startFailoverStack(3, { verbose: VERBOSE, engine });
      independent.set(engine, stack);
      stacks.set(engine, independentStack(stack));
    }
    if (CLUSTER)
      stacks.set(
        'livekit-cluster',
        clusterStack(await startClusterFailoverStack(CLUSTER_MEMBERS, { verbose: VERBOSE })),
      );
    if (PEER_EACH_RUN) peer = await startLiveKitPeer(PEER_API_KEY, PEER_API_SECRET);
    const turns = PEER_EACH_RUN ? groups.length + 1 : groups.length;
    // Interleaved: one run of every group (engines and the LiveKit peer included) per round, the order
    // rotating, so a busy spell of the machine lands on all groups alike instead of on whichever happened
    // to run then.
    for (let run = 1; run <= RUNS; run++) {
      for (let g = 0; g < turns; g++) {
        const turn = (g + run - 1) % turns;
        if (turn === groups.length) {
          try {
            baselines.push(await runLiveKitPeer(peer!, [...stacks.values()][0]!.chromium, baselinePage!, run));
          } catch (err) {
            failures.push(`LiveKit multi-node peer run ${run}: ${(err as Error).message}`);
            log(`FAILED ${failures[failures.length - 1]}`);
          }
          continue;
        }
        const { engine, scenario, size } = groups[turn]!;
        const stack = stacks.get(engine)!;
        const people: Participant[] = [];
        try {
          await stack.healAll();
          const sessionId = `bench-${engine}-${scenario.toLowerCase()}-${size}-${run}-${process.pid}`;
          for (let i = 0; i < size; i++)
            people.push(await joinThroughPage(stack.chromium.browser, stack.app.url, sessionId, `P${i + 1}`));
          await expectEveryoneSeesEveryone(people, 20_000);
          const load = measureMachineLoad();
          const runSamples = await runIncident(stack, engine, sessionId, people, scenario, run);
          samples.push(...runSamples);
          const during = load();
          conditions.push({
            engine,
            scenario,
            participants: size,
            run,
            ...during,
            medianMs: summarize(runSamples.map((x) => x.totalMs)).median,
          });
          log(`  machine: load ${during.load1}, ${during.idlePct} % idle during the incident`);
        } catch (err) {
          failures.push(`${engine} ${scenario} x${size} run ${run}: ${(err as Error).message}`);
          log(`FAILED ${failures[failures.length - 1]}`);
        } finally {
          await Promise.all(people.map((p) => p.close()));
          await stack.healAll().catch(() => undefined);
        }
      }
    }
    if (BASELINE) {
      for (const [engine, stack] of independent) {
        baselines.push(await runBaseline(stack, baselinePage!, engine, 'node-stays-dead'));
        baselines.push(await runBaseline(stack, baselinePage!, engine, 'same-node-restarted'));
      }
    }
    if (PEER && !PEER_EACH_RUN) {
      try {
        peer = await startLiveKitPeer(PEER_API_KEY, PEER_API_SECRET);
        baselines.push(await runLiveKitPeer(peer, [...stacks.values()][0]!.chromium, baselinePage!, 1));
      } catch (err) {
        failures.push(`LiveKit multi-node peer: ${(err as Error).message}`);
        log(`FAILED ${failures[failures.length - 1]}`);
      }
    }
  } finally {
    for (const stack of stacks.values()) await stack.stop().catch(() => undefined);
    await peer?.stop().catch(() => undefined);
    await baselinePage?.close();
  }

  const durationMs = Date.now() - startedAt;
  const summary = summaries(samples, conditions);
  const peerGroup = peerSummary(baselines);
  const report = {
    generatedAt: new Date().toISOString(),
    durationMs,
    machine: { cpus: cpus().length, node: process.version },
    settings: {
      engines: BENCH_TOPOLOGIES,
      runs: RUNS,
      sizes: SIZES,
      nodes: 3,
      nodesOnMachinesOfTheirOwn: NETNS,
      clusterMembers: CLUSTER ? CLUSTER_MEMBERS : undefined,
      video: '320x180@15 VP8, no simulcast',
    },
    targets: { ...TARGETS, cluster: CLUSTER_TARGETS },
    summary,
    livekitAlone: peerGroup,
    baseline: baselines,
    failures,
    conditions,
    samples,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(outDir, `failover-${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(outDir, 'failover-latest.json'), JSON.stringify(report, null, 2));
  const baselineLine = (engine: MediaEngine) => {
    const dead = baselines.find((b) => b.engine === engine && b.variant === 'node-stays-dead');
    const restarted = baselines.find((b) => b.engine === engine && b.variant === 'same-node-restarted');
    return (
      `${ENGINE_NAMES[engine]}: ${dead ? (dead.recovered ? `back after ${Math.max(...dead.recoveryMs.map(Number))} ms` : `not back after ${Math.round(dead.waitedMs / 1000)} s`) : 'not measured'}` +
      `${restarted ? `; same node restarted after 1 s: ${restarted.recovered ? `${Math.max(...restarted.recoveryMs.map(Number))} ms` : `not back in ${Math.round(restarted.waitedMs / 1000)} s`}` : ''}`
    );
  };
  const peerLine =
    peerGroup.runs > 0
      ? `LiveKit's own recovery (2 nodes + Redis behind nginx, node holding the room SIGKILLed, ${peerGroup.runs} runs): median ${fmt(peerGroup.totalMs.median).trim()} ms, p95 ${fmt(peerGroup.totalMs.p95).trim()} ms${peerGroup.notBack ? `, ${peerGroup.notBack} participant(s) never back within ${PEER_WAIT_MS / 1000} s` : ''}`
      : '';
  const footnote = `livekit-client defaults, same kill, no backend: ${[
    ...BENCH_ENGINES.map(baselineLine),
    ...(peerLine ? [peerLine] : []),
  ].join('; ')}. Tutorial: 3-4 s.`;
  const svg = renderSvg(
    BENCH_TOPOLOGIES.flatMap((engine) =>
      SCENARIOS.filter((scenario) => engine !== 'livekit-cluster' || CLUSTER_SCENARIOS.includes(scenario)).flatMap(
        (scenario) =>
          SIZES.map((size) => ({
            label: `${engine}: ${scenario}, ${size} participants`,
            samples: samples.filter((s) => s.engine === engine && s.scenario === scenario && s.participants === size),
            targetP95Ms: TARGETS[scenario].p95Ms,
          })),
      ),
    ),
    `Kill -> first newly decoded remote frame (Chromium: ${BENCH_TOPOLOGIES.join(', ')})`,
    footnote,
  );
  writeFileSync(join(outDir, `failover-${stamp}.svg`), svg);
  writeFileSync(join(outDir, 'failover-latest.svg'), svg);

  console.log(
    `\nkill -> first newly decoded remote frame (ms); ${RUNS} rounds, groups interleaved; ${cpus().length} cpus`,
  );
  console.log(
    'group                 n    median   p95     max    | median phases: detect/token/connect/publish/frame | all remotes p95 | run medians min/med/max | load (med) | idle % (med)',
  );
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
    const spread = v.runMediansMs
      ? `${Math.round(v.runMedianMinMs!)}/${Math.round(v.runMediansMs.median)}/${Math.round(v.runMediansMs.max)}`
      : '';
    const machine = v.load1
      ? `${v.load1.median.toFixed(2).padStart(10)} | ${v.idlePct!.median.toFixed(1).padStart(11)}`
      : '';
    console.log(
      `${name.padEnd(20)} ${String(v.totalMs.count).padStart(3)} ${fmt(v.totalMs.median)} ${fmt(v.totalMs.p95)} ${fmt(v.totalMs.max)} | ${phases.padEnd(48)} | ${v.allRemotesMs ? fmt(v.allRemotesMs.p95).padEnd(15) : ''.padEnd(15)} | ${spread.padEnd(23)} | ${machine}`,
    );
  }
  if (BENCH_ENGINES.length > 1) {
    console.log(
      `\nside by side (median / p95 ms, n): ${BENCH_ENGINES.map((e) => ENGINE_NAMES[e]).join(' | ')} | ratio of medians`,
    );
    for (const scenario of SCENARIOS) {
      for (const size of SIZES) {
        const cells = BENCH_ENGINES.map(
          (engine) =>
            (summary[`${engine} ${scenario} x${size}`] as { totalMs: ReturnType<typeof summarize> } | undefined)
              ?.totalMs,
        );
        const text = cells.map((c) =>
          (c ? `${Math.round(c.median)} / ${Math.round(c.p95)} (${c.count})` : 'n/a').padEnd(22),
        );
        const ratio = cells[0] && cells[1] ? (cells[1].median / cells[0].median).toFixed(2) : 'n/a';
        console.log(`${`${scenario} x${size}`.padEnd(14)} ${text.join(' | ')} | ${ratio}`);
      }
    }
  }
  if (CLUSTER) {
    const peerCell = peerGroup.runs > 0 ? peerGroup.totalMs : undefined;
    console.log(
      `\n${TOPOLOGY_NAMES['livekit-cluster']} (${CLUSTER_MEMBERS} members behind one nginx URL), SIGKILL of the member holding the room;` +
        ` kill -> each participant decodes the others' video again (median / p95 ms, samples, runs):`,
    );
    console.log(
      `group          ours, cluster mode           | LiveKit alone (2 participants)  | LiveKit alone / ours (medians)`,
    );
    for (const size of SIZES) {
      const ours = (
        summary[`livekit-cluster SIGKILL x${size}`] as { totalMs: ReturnType<typeof summarize> } | undefined
      )?.totalMs;
      const oursRuns = conditions.filter((c) => c.engine === 'livekit-cluster' && c.participants === size).length;
      const cell = (c: ReturnType<typeof summarize> | undefined, runs: number) =>
        (c
          ? `${fmt(c.median).trim()} / ${fmt(c.p95).trim()} (${c.count}, ${runs} run${runs === 1 ? '' : 's'})`
          : 'n/a'
        ).padEnd(28);
      const comparable = size === 2 && ours && peerCell && Number.isFinite(peerCell.median);
      const ratio = comparable ? peerCell.median / ours.median : undefined;
      const verdict =
        size === 2 && ours
          ? ` (targets: median <= ${CLUSTER_TARGETS.medianMs} ms ${ours.median <= CLUSTER_TARGETS.medianMs ? 'met' : 'missed'}` +
            `, >= ${CLUSTER_TARGETS.timesFasterThanLiveKitAlone}x ${ratio === undefined ? 'n/a' : ratio >= CLUSTER_TARGETS.timesFasterThanLiveKitAlone ? 'met' : 'missed'})`
          : '';
      console.log(
        `SIGKILL x${size}`.padEnd(14) +
          ` ${cell(ours, oursRuns)} | ${size === 2 ? cell(peerCell, peerGroup.runs) : 'n/a'.padEnd(28)}    | ${ratio === undefined ? 'n/a' : `${ratio.toFixed(1)}x`}${verdict}`,
      );
    }
    if (peerGroup.notBack)
      console.log(
        `LiveKit alone: ${peerGroup.notBack} participant(s) never back within ${PEER_WAIT_MS / 1000} s (counted as never)`,
      );
  }
  for (const [name, value] of Object.entries(summary)) {
    const marks = (value as { marksAfterToken?: Record<string, ReturnType<typeof summarize>> }).marksAfterToken;
    if (marks)
      console.log(
        `${name}: median ms after token: ${Object.entries(marks)
          .map(([k, v]) => `${k} ${Math.round(v.median)}`)
          .join(', ')}`,
      );
  }
  if (NETNS) {
    console.log(
      `\nnodes on machines of their own (network namespaces): fault -> video again, median / p95 ms (samples, runs)`,
    );
    console.log(`group          ${SCENARIOS.map((scenario) => scenario.padEnd(24)).join(' | ')}`);
    for (const engine of BENCH_ENGINES) {
      for (const size of SIZES) {
        const cells = SCENARIOS.map((scenario) => {
          const cell = (
            summary[`${engine} ${scenario} x${size}`] as { totalMs: ReturnType<typeof summarize> } | undefined
          )?.totalMs;
          const runs = conditions.filter(
            (c) => c.engine === engine && c.scenario === scenario && c.participants === size,
          ).length;
          return (
            cell ? `${fmt(cell.median).trim()} / ${fmt(cell.p95).trim()} (${cell.count}, ${runs})` : 'n/a'
          ).padEnd(24);
        });
        console.log(`${`${engine} x${size}`.padEnd(14)} ${cells.join(' | ')}`);
      }
    }
  }
  console.log(footnote);
  if (failures.length) console.log(`failed runs (${failures.length}):\n  ${failures.join('\n  ')}`);
  console.log(
    `wrote ${join(outDir, 'failover-latest.json')} and .svg; total duration ${(durationMs / 1000).toFixed(0)} s`,
  );
  if (failures.length > 0 || samples.length === 0) process.exitCode = 1;
}

function fmt(ms: number): string {
  return (Number.isFinite(ms) ? String(Math.round(ms)) : 'n/a').padStart(7);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
