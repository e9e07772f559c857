// The chaos run (bench:chaos and its 2-minute spec): sessions of signal-level participants plus one
// session of two Chromium participants on the chaos stack, and one fault at a time, drawn at random from a
// seeded generator: a node SIGKILLed or SIGSTOPped, its machine vanishing, its media path broken, the
// backend instance holding the sockets SIGKILLed, the Redis primary SIGKILLed. Each is healed after a
// while, before the next. What it counts:
// - sessions lost: a session or a participant missing from the store (after every fault and at the end);
// - participants stranded: FAULT_CHECK_MS after a fault, not on a live node. From the participant's own
//   view: joined on a node that is running, not faulted, with its signal open (a Chromium page: state
//   connected on such a node); and from the store, read just after: the session is on that very node at
//   that generation. Signal-level participants carry no media, so they cannot see a broken media path:
//   for that fault only the Chromium session must move, and the others on that node are not counted;
// - duplicate rebuilds: a session's generation beyond 1 + the faults it had to leave a node for;
// - the media gap: fault -> joined again on a live node (signal-level), fault -> frames decoded again
//   (Chromium, from the page's move timing hook);
// - the instances' memory (VmRSS) at start and end.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize, type Summary } from '../bench/failover-stats';
import type { SessionSummary } from '../../src/contracts';
import { HEAL_TIMEOUT_MS, rssKb, type ChaosStack } from './chaos-stack';
import { expectEveryoneSeesEveryone, joinThroughPage, sleep, type Participant } from './participant-page';
import { OPERATOR_HEADERS } from './session-client';
import { SignalParticipant } from './signal-participant';

export const CHAOS_FAULTS = [
  'node-sigkill',
  'node-sigstop',
  'machine-vanish',
  'media-path',
  'instance-sigkill',
  'redis-primary-sigkill',
] as const;
export type ChaosFaultKind = (typeof CHAOS_FAULTS)[number];

/** The faults on a media node (the others hit the backend's own processes). */
const NODE_FAULTS: readonly ChaosFaultKind[] = ['node-sigkill', 'node-sigstop', 'machine-vanish', 'media-path'];

/** The issue's bound: on a live node 5 s after a fault. */
export const FAULT_CHECK_MS = 5_000;
/** A participant that moved is given this long to show its gap (the stranded count says the rest). */
const GAP_TIMEOUT_MS = 20_000;
/** How often the Chromium pages' move hooks are read while waiting for their frames. */
const PAGE_POLL_MS = 250;
/** Joins in flight at once while filling the sessions. */
const JOIN_CONCURRENCY = 6;
const CHROMIUM_SESSION = 'chaos-chromium';

export interface ChaosOptions {
  durationMs: number;
  /** Sessions of signal-level participants, each of `size`. */
  sessions: number;
  size: number;
  /** Two Chromium participants in one more session (the stack must have Chromium). */
  chromium: boolean;
  seed: number;
  /** A fault starts this long after the previous one started (uniform in [min, max]). */
  intervalMs: [number, number];
  /** Each fault is healed this long after it started (uniform in [min, max], at least FAULT_CHECK_MS). */
  healMs: [number, number];
  /** When the first fault comes, after the participants joined. */
  firstFaultMs: number;
  faults: readonly ChaosFaultKind[];
  log: (message: string) => void;
}

export interface ChaosFaultRecord {
  kind: ChaosFaultKind;
  /** The node's name, the instance's name, or the Redis port. */
  target: string;
  /** Seconds into the run. */
  atS: number;
  healedAfterMs: number;
  /** Participants whose session sat on the faulted node and had to move (signal-level, Chromium). */
  moving: { signal: number; chromium: number };
  stranded: string[];
  lost: string[];
}

export interface GapSample {
  kind: ChaosFaultKind;
  participant: string;
  ms: number;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  settings: Omit<ChaosOptions, 'log'>;
  faults: ChaosFaultRecord[];
  sessionsLost: string[];
  stranded: string[];
  duplicateRebuilds: Array<{ sessionId: string; generation: number; expected: number }>;
  /** Sessions that did not move as often as their node's faults required (also seen as stranded). */
  missedRebuilds: Array<{ sessionId: string; generation: number; expected: number }>;
  gaps: { signal: GapSample[]; chromium: GapSample[]; noRecovery: string[] };
  gapSummary: Record<string, Summary>;
  memory: Array<{ instance: string; startPid?: number; startKb?: number; endPid?: number; endKb?: number }>;
  errors: string[];
}

/** mulberry32: a small seeded generator, enough for picking faults and delays reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class ChaosRun {
  readonly signal: SignalParticipant[] = [];
  readonly pages: Participant[] = [];
  private readonly random: () => number;
  private bag: ChaosFaultKind[] = [];
  /** Per session: how many rebuilds the faults so far explain. */
  private readonly expectedMoves = new Map<string, number>();
  private readonly report: ChaosReport;
  private readonly pending: Array<Promise<void>> = [];

  constructor(
    private readonly stack: ChaosStack,
    private readonly options: ChaosOptions,
  ) {
    this.random = seededRandom(options.seed);
    const { log: _log, ...settings } = options;
    this.report = {
      seed: options.seed,
      durationMs: 0,
      settings,
      faults: [],
      sessionsLost: [],
      stranded: [],
      duplicateRebuilds: [],
      missedRebuilds: [],
      gaps: { signal: [], chromium: [], noRecovery: [] },
      gapSummary: {},
      memory: [],
      errors: [],
    };
  }

  /** Joins every participant: the signal-level sessions, then the Chromium one. */
  async fill(): Promise<void> {
    const { sessions, size } = this.options;
    const ids = Array.from({ length: sessions }, (_, i) => `chaos-${i}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: JOIN_CONCURRENCY }, async () => {
        while (next < ids.length) {
          const sessionId = ids[next++]!;
          // The first participant creates the session; the others follow it in turn. Each recovers as
          // ResilientRoom does (a failed join or a lost signal: it asks the backend where to go), as the
          // real clients of a session would: one that only waited for pushes stayed away for good when its
          // join on the new node timed out, and the sweep rightly forgot it.
          for (let p = 0; p < size; p++)
            this.signal.push(await SignalParticipant.join(this.stack.url, sessionId, `P${p}`, { recover: true }));
        }
      }),
    );
    if (this.options.chromium) {
      if (!this.stack.chromium) throw new Error('the chaos stack was started without Chromium');
      for (const name of ['Cleo', 'Dan'])
        this.pages.push(await joinThroughPage(this.stack.chromium.browser, this.stack.url, CHROMIUM_SESSION, name));
      await expectEveryoneSeesEveryone(this.pages);
    }
  }

  async run(): Promise<ChaosReport> {
    const { log } = this.options;
    const startedAt = performance.now();
    const endAt = startedAt + this.options.durationMs;
    this.report.memory = this.stack.instances.map((i) => ({
      instance: i.name,
      startPid: i.pid(),
      startKb: rssKb(i.pid()),
    }));
    let faultAt = startedAt + this.options.firstFaultMs;
    // A fault is started only when it can be healed and checked within the run.
    while (faultAt + this.options.healMs[1] + FAULT_CHECK_MS <= endAt) {
      await sleep(faultAt - performance.now());
      const kind = this.nextKind();
      try {
        await this.fault(kind, startedAt);
      } catch (error) {
        this.report.errors.push(
          `${kind} at ${((faultAt - startedAt) / 1000).toFixed(0)} s: ${(error as Error).message}`,
        );
        log(
          `ERROR ${this.report.errors.at(-1)}; the instances' output: ${this.dumpOutput(`fault-${this.report.faults.length}`)}`,
        );
        await this.healEverything().catch((e: unknown) => this.report.errors.push((e as Error).message));
      }
      faultAt += this.between(this.options.intervalMs);
    }
    await sleep(endAt - performance.now());
    await Promise.all(this.pending);
    try {
      await this.finalCheck();
    } catch (error) {
      this.report.errors.push(`the final check: ${(error as Error).message}`);
      log(`ERROR ${this.report.errors.at(-1)}; the instances' output: ${this.dumpOutput('final')}`);
    }
    this.report.memory = this.report.memory.map((m, i) => ({
      ...m,
      endPid: this.stack.instances[i]!.pid(),
      endKb: rssKb(this.stack.instances[i]!.pid()),
    }));
    this.report.durationMs = performance.now() - startedAt;
    const byKind = (samples: GapSample[], label: string) => {
      if (samples.length > 0) this.report.gapSummary[`${label} (all faults)`] = summarize(samples.map((s) => s.ms));
      for (const kind of CHAOS_FAULTS) {
        const mine = samples.filter((s) => s.kind === kind);
        if (mine.length > 0) this.report.gapSummary[`${label} ${kind}`] = summarize(mine.map((s) => s.ms));
      }
    };
    byKind(this.report.gaps.signal, 'signal-level');
    byKind(this.report.gaps.chromium, 'chromium');
    return this.report;
  }

  close(): Promise<void> {
    for (const p of this.signal) p.close();
    return Promise.all(this.pages.map((p) => p.close())).then(() => undefined);
  }

  /** The next kind from a shuffled bag of every allowed kind: each comes once before any comes twice. */
  private nextKind(): ChaosFaultKind {
    if (this.bag.length === 0) {
      this.bag = [...this.options.faults];
      for (let i = this.bag.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [this.bag[i], this.bag[j]] = [this.bag[j]!, this.bag[i]!];
      }
    }
    return this.bag.shift()!;
  }

  private between([min, max]: [number, number]): number {
    return min + this.random() * (max - min);
  }

  private live(url: string | undefined, faulted?: string): boolean {
    if (url === undefined || url === faulted) return false;
    const node = this.stack.cluster.nodes().find((n) => n.url === url);
    return node !== undefined && node.state === 'running' && this.stack.cluster.machine(node.name).fault === 'none';
  }

  private async fault(kind: ChaosFaultKind, runStartedAt: number): Promise<void> {
    const { cluster, redis } = this.stack;
    const before = new Map((await this.stack.sessions()).map((s) => [s.sessionId, s]));
    const nodes = cluster.nodes();
    let targetUrl: string | undefined;
    if (kind === 'media-path') {
      // Only participants with media can tell; the Chromium session's node is the one to break.
      targetUrl = before.get(CHROMIUM_SESSION)?.nodeUrl ?? nodes[Math.floor(this.random() * nodes.length)]!.url;
    } else if (NODE_FAULTS.includes(kind)) {
      // A node that holds sessions (a fault on an empty one proves nothing), any of them alike.
      const busy = nodes.filter((n) => [...before.values()].some((s) => s.nodeUrl === n.url));
      const candidates = busy.length > 0 ? busy : nodes;
      targetUrl = candidates[Math.floor(this.random() * candidates.length)]!.url;
    }
    const node = nodes.find((n) => n.url === targetUrl);
    // Which sessions must move: every one on a crashed, hung or vanished node; only the Chromium one on a broken media path.
    const mustMove = new Set(
      [...before.values()]
        .filter((s) => s.nodeUrl === targetUrl && (kind !== 'media-path' || s.sessionId === CHROMIUM_SESSION))
        .map((s) => s.sessionId),
    );
    for (const id of mustMove) this.expectedMoves.set(id, (this.expectedMoves.get(id) ?? 0) + 1);
    const movingSignal = this.signal.filter((p) => mustMove.has(p.sessionId));
    const movingPages = mustMove.has(CHROMIUM_SESSION) ? this.pages : [];
    const pageMovesBefore = await Promise.all(movingPages.map(async (p) => (await p.snapshot()).moves.length));
    const generations = new Map(movingSignal.map((p) => [p, p.generation]));

    const healAfter = Math.max(FAULT_CHECK_MS + 500, this.between(this.options.healMs));
    let target: string;
    let heal: () => Promise<void>;
    const at = performance.now();
    const atEpoch = Date.now();
    switch (kind) {
      case 'node-sigkill':
        target = node!.name;
        await cluster.kill(target);
        heal = () => cluster.restart(target);
        break;
      case 'node-sigstop':
        target = node!.name;
        await cluster.hang(target);
        heal = () => cluster.resume(target);
        break;
      case 'machine-vanish':
      case 'media-path':
        target = node!.name;
        cluster.inject(target, kind === 'machine-vanish' ? 'vanish' : 'media-path');
        heal = () => Promise.resolve(cluster.heal(target));
        break;
      case 'instance-sigkill': {
        // The instance holding the sockets (nginx hashes this machine's address onto one).
        const holder = await this.socketHolder();
        target = holder.name;
        await holder.kill();
        heal = () => holder.launch();
        break;
      }
      case 'redis-primary-sigkill': {
        const port = await redis.killPrimary();
        target = `redis :${port}`;
        heal = async () => {
          // Back as a replica of the promoted one, once the sentinels named it.
          const deadline = Date.now() + HEAL_TIMEOUT_MS;
          while ((await redis.primaryPort().catch(() => port)) === port) {
            if (Date.now() > deadline) throw new Error(`no replica promoted within ${HEAL_TIMEOUT_MS} ms`);
            await sleep(200);
          }
          await redis.restart(port);
          await redis.untilReplicated(1);
        };
        break;
      }
      default: {
        const never: never = kind;
        throw new Error(`unknown fault ${String(never)}`);
      }
    }
    const record: ChaosFaultRecord = {
      kind,
      target,
      atS: Math.round((at - runStartedAt) / 1000),
      healedAfterMs: Math.round(healAfter),
      moving: { signal: movingSignal.length, chromium: movingPages.length },
      stranded: [],
      lost: [],
    };
    this.report.faults.push(record);
    this.options.log(
      `fault ${this.report.faults.length}: ${kind} on ${target} at ${record.atS} s (${mustMove.size} session(s) must move: ` +
        `${movingSignal.length} signal-level participants, ${movingPages.length} Chromium); healed after ${(healAfter / 1000).toFixed(1)} s`,
    );

    // The gaps, as each participant comes back (recorded in the background, bounded).
    for (const p of movingSignal)
      this.pending.push(
        p.connectedAtGeneration(generations.get(p)! + 1, GAP_TIMEOUT_MS).then(
          () => void this.report.gaps.signal.push({ kind, participant: p.identity, ms: p.connectedAt - at }),
          () => void this.report.gaps.noRecovery.push(`${kind} at ${record.atS} s: ${p.sessionId}/${p.identity}`),
        ),
      );
    movingPages.forEach((page, i) => this.pending.push(this.pageGap(kind, page, pageMovesBefore[i]!, atEpoch, record)));

    await sleep(at + FAULT_CHECK_MS - performance.now());
    const faultedUrl = targetUrl;
    // media-path: the signal-level participants left on that node see nothing wrong, and are not counted.
    const counted = (p: SignalParticipant) => !(kind === 'media-path' && p.connectedUrl === faultedUrl);
    const stranded = new Set<string>();
    for (const p of this.signal)
      if (counted(p) && !(p.signalOpen() && this.live(p.connectedUrl, faultedUrl)))
        stranded.add(
          `${p.sessionId}/${p.identity} on ${p.connectedUrl ?? 'nothing'} (signal ${p.signalOpen() ? 'open' : 'closed'})`,
        );
    const snapshots = await Promise.all(this.pages.map((p) => p.snapshot()));
    snapshots.forEach((s, i) => {
      if (!(s.state === 'connected' && this.live(s.url, faultedUrl)))
        stranded.add(`${CHROMIUM_SESSION}/${this.pages[i]!.name} (Chromium) ${s.state} on ${s.url ?? 'nothing'}`);
    });
    // The store, read just after: each session on the node its participants are joined on.
    const store = new Map((await this.stack.sessions()).map((s) => [s.sessionId, s]));
    record.lost = this.lostFrom(store);
    for (const p of this.signal) {
      const session = store.get(p.sessionId);
      if (!session || !counted(p)) continue;
      if (session.nodeUrl !== p.connectedUrl || session.generation !== p.generation)
        stranded.add(
          `${p.sessionId}/${p.identity}: joined on ${p.connectedUrl ?? 'nothing'} at ${p.generation}, the store says ${session.nodeUrl} at ${session.generation}`,
        );
    }
    const chromiumSession = store.get(CHROMIUM_SESSION);
    const pageViews = await Promise.all(this.pages.map((p) => p.snapshot()));
    pageViews.forEach((s, i) => {
      if (chromiumSession && s.url !== chromiumSession.nodeUrl)
        stranded.add(
          `${CHROMIUM_SESSION}/${this.pages[i]!.name} (Chromium) on ${s.url ?? 'nothing'}, the store says ${chromiumSession.nodeUrl}`,
        );
    });
    record.stranded = [...stranded];
    this.report.stranded.push(...record.stranded.map((s) => `${kind} at ${record.atS} s: ${s}`));
    this.report.sessionsLost.push(...record.lost.map((s) => `${kind} at ${record.atS} s: ${s}`));
    if (record.stranded.length > 0 || record.lost.length > 0)
      this.options.log(`  the instances' output: ${this.dumpOutput(`fault-${this.report.faults.length}`)}`);
    if (record.stranded.length > 0 || record.lost.length > 0)
      this.options.log(
        `  ${record.stranded.length} stranded, ${record.lost.length} lost: ${[...record.lost, ...record.stranded].slice(0, 8).join('; ')}`,
      );

    await sleep(at + healAfter - performance.now());
    await heal();
    if (NODE_FAULTS.includes(kind)) await this.stack.nodesUp();
    this.options.log(`  healed ${target} ${((performance.now() - at) / 1000).toFixed(1)} s after the fault`);
  }

  /** Writes every instance's output (each incarnation) to a file; answers its path. */
  private dumpOutput(label: string): string {
    const file = join(tmpdir(), `chaos-${process.pid}-${label}.log`);
    writeFileSync(file, this.stack.instances.map((i) => `== ${i.name}\n${i.output()}`).join('\n'));
    return file;
  }

  /** Chromium: fault -> frames decoded again, from the first move after the fault that got them. */
  private async pageGap(
    kind: ChaosFaultKind,
    page: Participant,
    movesBefore: number,
    atEpoch: number,
    record: ChaosFaultRecord,
  ): Promise<void> {
    const deadline = Date.now() + GAP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const moves = (await page.snapshot().catch(() => undefined))?.moves.slice(movesBefore) ?? [];
      const back = moves.find((m) => m.firstFrameAt !== undefined);
      if (back) {
        this.report.gaps.chromium.push({ kind, participant: page.name, ms: back.firstFrameAt! - atEpoch });
        const after = (instant: number | undefined) => (instant === undefined ? '?' : Math.round(instant - atEpoch));
        this.options.log(
          `  ${page.name} (Chromium, ${back.trigger}): detected ${after(back.detectedAt)}, token ${after(back.tokenAt)}, ` +
            `connected ${after(back.connectedAt)}, published ${after(back.publishedAt)}, first frame ${after(back.firstFrameAt)} ms after the fault`,
        );
        return;
      }
      await sleep(PAGE_POLL_MS);
    }
    this.report.gaps.noRecovery.push(`${kind} at ${record.atS} s: ${page.name} (Chromium) decoded no frames again`);
  }

  private async socketHolder() {
    const res = await fetch(`${this.stack.url}/api/info`, {
      headers: OPERATOR_HEADERS,
      signal: AbortSignal.timeout(5_000),
    });
    const info = (await res.json()) as { instance: { pid: number } };
    const holder = this.stack.instances.find((i) => i.pid() === info.instance.pid);
    if (!holder) throw new Error(`no instance has pid ${info.instance.pid}`);
    return holder;
  }

  /** Sessions or participants the store no longer holds. */
  private lostFrom(store: Map<string, SessionSummary>): string[] {
    const lost: string[] = [];
    const members = new Map<string, string[]>();
    for (const p of this.signal) members.set(p.sessionId, [...(members.get(p.sessionId) ?? []), p.identity]);
    if (this.pages.length > 0) members.set(CHROMIUM_SESSION, []);
    for (const [sessionId, identities] of members) {
      const session = store.get(sessionId);
      if (!session) {
        lost.push(`session ${sessionId}`);
        continue;
      }
      const held = new Set(session.participants.map((p) => p.identity));
      for (const identity of identities) if (!held.has(identity)) lost.push(`${sessionId}/${identity}`);
      if (sessionId === CHROMIUM_SESSION && session.participants.length < this.pages.length)
        lost.push(`${sessionId}: ${session.participants.length} of ${this.pages.length} participants`);
    }
    return lost;
  }

  private async finalCheck(): Promise<void> {
    const store = new Map((await this.stack.sessions()).map((s) => [s.sessionId, s]));
    this.report.sessionsLost.push(...this.lostFrom(store).map((s) => `at the end: ${s}`));
    for (const p of this.signal) {
      const session = store.get(p.sessionId);
      if (session && !(p.signalOpen() && this.live(p.connectedUrl) && session.nodeUrl === p.connectedUrl))
        this.report.stranded.push(`at the end: ${p.sessionId}/${p.identity} on ${p.connectedUrl ?? 'nothing'}`);
    }
    for (const session of store.values()) {
      if (!session.sessionId.startsWith('chaos-')) continue;
      const expected = this.expectedMoves.get(session.sessionId) ?? 0;
      const entry = { sessionId: session.sessionId, generation: session.generation, expected };
      if (session.generation > 1 + expected) this.report.duplicateRebuilds.push(entry);
      if (session.generation < 1 + expected) this.report.missedRebuilds.push(entry);
    }
  }

  /** After a failed fault step: every node healed and running, every instance up, both Redis servers up (a killed one as a replica). */
  private async healEverything(): Promise<void> {
    const { cluster, instances } = this.stack;
    for (const node of cluster.nodes()) {
      if (cluster.machine(node.name).fault !== 'none') cluster.heal(node.name);
      if (node.state === 'dead') await cluster.restart(node.name);
      if (node.state === 'hung') await cluster.resume(node.name);
    }
    for (const instance of instances) if (instance.pid() === undefined) await instance.launch();
    // A Redis server a failed step left killed comes back as a replica.
    for (const port of this.stack.redis.dataPorts()) {
      try {
        process.kill(this.stack.redis.pid(port), 0);
      } catch {
        await this.stack.redis.restart(port);
      }
    }
    await this.stack.nodesUp();
  }
}

/** The run's table: what bench:chaos prints and the spec logs. */
export function formatChaosReport(report: ChaosReport): string {
  const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)}` : 'n/a').padStart(7);
  const kb = (value: number | undefined) => (value === undefined ? 'n/a' : `${(value / 1024).toFixed(1)} MB`);
  const lines = [
    `seed ${report.seed}; ${(report.durationMs / 1000).toFixed(0)} s; ${report.faults.length} faults`,
    'fault                  target            at s  moving (signal/Chromium)  stranded  lost',
    ...report.faults.map(
      (f) =>
        `${f.kind.padEnd(22)} ${f.target.padEnd(17)} ${String(f.atS).padStart(4)}  ${`${f.moving.signal}/${f.moving.chromium}`.padEnd(24)}  ${String(f.stranded.length).padStart(8)}  ${String(f.lost.length).padStart(4)}`,
    ),
    '',
    `sessions lost (must be 0):            ${report.sessionsLost.length}`,
    `participants stranded (must be 0):    ${report.stranded.length}`,
    `duplicate rebuilds (must be 0):       ${report.duplicateRebuilds.length}`,
    `missed rebuilds:                      ${report.missedRebuilds.length}`,
    `participants not back within 20 s:    ${report.gaps.noRecovery.length}`,
    '',
    'media gap (fault -> joined on a live node / frames decoded again), ms',
    'participants, fault                        n   median      p95      max',
    ...Object.entries(report.gapSummary).map(
      ([label, s]) => `${label.padEnd(38)} ${String(s.count).padStart(5)} ${ms(s.median)}  ${ms(s.p95)}  ${ms(s.max)}`,
    ),
    '(media-path: signal-level participants carry no media and cannot see it; only the Chromium session moves)',
    '',
    'instance      start pid  RSS          end pid  RSS',
    ...report.memory.map(
      (m) =>
        `${m.instance.padEnd(13)} ${String(m.startPid ?? '-').padStart(9)}  ${kb(m.startKb).padEnd(11)}  ${String(m.endPid ?? '-').padStart(7)}  ${kb(m.endKb)}${m.startPid !== m.endPid ? ' (restarted)' : ''}`,
    ),
  ];
  const details = [
    ...report.sessionsLost.map((s) => `lost: ${s}`),
    ...report.stranded.map((s) => `stranded: ${s}`),
    ...report.duplicateRebuilds.map(
      (d) => `duplicate: ${d.sessionId} generation ${d.generation}, faults ${d.expected}`,
    ),
    ...report.missedRebuilds.map((d) => `missed: ${d.sessionId} generation ${d.generation}, faults ${d.expected}`),
    ...report.gaps.noRecovery.map((s) => `not back: ${s}`),
    ...report.errors.map((s) => `error: ${s}`),
  ];
  if (details.length > 0)
    lines.push('', ...details.slice(0, 40), details.length > 40 ? `... ${details.length - 40} more` : '');
  return lines.join('\n');
}

/** Whether every must-be-0 figure is 0 and the run itself went through. */
export function chaosPassed(report: ChaosReport): boolean {
  return (
    report.sessionsLost.length === 0 &&
    report.stranded.length === 0 &&
    report.duplicateRebuilds.length === 0 &&
    report.errors.length === 0
  );
}
