// The backend tier at scale: `npm run bench:scale [-- --engine dev|livekit|both --runs 3 --sessions 250 --size 4 --seconds 5 --part both|failover|issuance --client http|fetch --log FILE]`.
// Two backend instances over Redis behind nginx (npm run cluster's layout, dev cluster media), and
// signal-level participants (a token from our API, the socket.io channel through nginx, the LiveKit
// signal WebSocket, no media) so a thousand fit on this machine. Every session sits on node-1; node-1 is
// SIGKILLed; measured per participant: kill -> its rejoin push sent (the instance's log line for the
// move, by its clock) and received (stamped by the thread holding the bots'
// sockets; their rejoins run on a worker thread, see scale-rejoin.worker.ts) and kill -> its JoinResponse
// on the new node. Next to it, the node
// alone: the same number of signal joins at once straight to that node, no backend (the floor on this
// machine). Then token issuance:
// joins per second into one growing session and into new sessions, on one instance, next to a bare
// node:http server minting the same token. Runs interleave the engines; prints each run and then medians
// over the runs, writes bench-results/scale.json. --log FILE appends every process's log lines with
// millisecond timestamps (and the kill), to see where a run's time went.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join as joinPath } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AccessToken } from 'livekit-server-sdk';
import type { NodeStatus } from '../../src/contracts';
import type { JoinResponse, RejoinPayload } from '../../src/contracts';
import { startLocalStack, type BackendInstance, type LocalStack } from '../../src/local-stack';
import { RawSignalClient } from '../media-cluster/raw-signal-client';
import { builtTest } from '../support/built';
import { ENGINE_NAMES, type MediaEngine } from '../support/engines';
import { spawnNode } from '../support/child-process';
import { connect, join, type ConnectedParticipant } from '../support/session-client';
import { BenchFlags } from './bench-flags';
import type { RejoinDone, RejoinTask } from './scale-rejoin.worker';

const flags = new BenchFlags('bench:scale', {
  engine: { type: 'string' },
  runs: { type: 'string' },
  sessions: { type: 'string' },
  size: { type: 'string' },
  seconds: { type: 'string' },
  log: { type: 'string' },
  part: { type: 'string' },
  client: { type: 'string' },
});
const ENGINE_CHOICE = flags.string('engine', 'both', ['dev', 'livekit', 'both'] as const);
const BENCH_ENGINES: MediaEngine[] = ENGINE_CHOICE === 'both' ? ['dev', 'livekit'] : [ENGINE_CHOICE];
const RUNS = flags.int('runs', 3);
const SESSIONS = flags.int('sessions', 250);
const SIZE = flags.int('size', 4);
const ISSUE_SECONDS = flags.int('seconds', 5);
const LOG_FILE = flags.string('log', '');
const PART = flags.string('part', 'both', ['both', 'failover', 'issuance'] as const);
const CLIENT = flags.string('client', 'http', ['http', 'fetch'] as const);
flags.done();

// The instances log as in production (JSON lines), not dev mode's readable ones: formatting those took
// a sixth of an instance's CPU during a herd.
process.env.LOG_FORMAT = 'json';

const MOVE_DEADLINE_MS = 30_000;
const JOIN_BATCH = 20;
const PING_EVERY_MS = 5_000;
const ISSUE_CONCURRENCY = 16;
const GROWTH_STEPS = [250, 500, 750, 1000];
const BARE_SECONDS = 1;

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The bots' rejoins run on a worker thread (scale-rejoin.worker.ts), so that the thread receiving the
 * pushes stamps each as it arrives instead of after the reconnects before it. Absolute times cross the
 * threads (performance.timeOrigin + now()).
 */
class Rejoins {
  private readonly worker = new Worker(builtTest('test/bench/scale-rejoin.worker.js'));
  private readonly waiting = new Map<number, (done: RejoinDone) => void>();
  private next = 0;

  constructor() {
    this.worker.on('message', (done: RejoinDone | 'closed') => {
      if (done === 'closed') return;
      this.waiting.get(done.bot)?.(done);
      this.waiting.delete(done.bot);
    });
  }

  run(url: string, token: string): Promise<RejoinDone> {
    const bot = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(bot, resolve);
      this.worker.postMessage({ kind: 'rejoin', bot, url, token, deadlineMs: MOVE_DEADLINE_MS } satisfies RejoinTask);
    });
  }

  /** Closes the rejoined signal connections (the worker stays for the next run). */
  closeAll(): Promise<void> {
    return new Promise((resolve) => {
      const done = (message: unknown) => {
        if (message !== 'closed') return;
        this.worker.off('message', done);
        resolve();
      };
      this.worker.on('message', done);
      this.worker.postMessage({ kind: 'close' } satisfies RejoinTask);
    });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

const now = () => performance.timeOrigin + performance.now();

/** A participant without media: our API, our socket, LiveKit's signal protocol. Reports a lost signal and follows rejoin pushes, as ResilientRoom does. */
class SignalBot {
  signal: RawSignalClient | undefined;
  /** kill -> the rejoin push reached this bot (the backend's part), and -> its JoinResponse on the new node. */
  pushAfterMs: number | undefined;
  movedAfterMs: number | undefined;
  movedTo: string | undefined;
  error: string | undefined;
  private readonly ping = setInterval(
    () => this.signal?.send({ case: 'ping', value: BigInt(Date.now()) }),
    PING_EVERY_MS,
  );

  private constructor(
    readonly joined: JoinResponse,
    readonly socket: ConnectedParticipant,
  ) {}

  static async start(base: string, sessionId: string, name: string): Promise<SignalBot> {
    const joined = await join(base, sessionId, name);
    const bot = new SignalBot(joined, await connect(base, joined, 10_000));
    bot.signal = await RawSignalClient.connect(joined.url, joined.token);
    await bot.signal.next('join', 10_000);
    return bot;
  }

  /** Like ResilientRoom: follows rejoin pushes (its rejoin on `rejoins`' thread), and reports a lost signal connection (media-lost). */
  follow(killedAt: number, rejoins: Rejoins): void {
    this.socket.socket.on('rejoin', (payload: RejoinPayload) => void this.move(payload, killedAt, rejoins));
    const signal = this.signal!;
    void signal.closed.then(() => {
      if (this.pushAfterMs === undefined) this.socket.socket.emit('media-lost', { url: this.joined.url });
    });
  }

  close(): void {
    clearInterval(this.ping);
    this.signal?.close();
    this.socket.close();
  }

  /** `killedAt`: performance.timeOrigin + now() at the kill. */
  private async move(payload: RejoinPayload, killedAt: number, rejoins: Rejoins): Promise<void> {
    this.pushAfterMs = now() - killedAt;
    const signal = this.signal;
    this.signal = undefined;
    signal?.close();
    const done = await rejoins.run(payload.url, payload.token);
    if (done.joinedAt === undefined) {
      this.error = done.error;
      return;
    }
    this.movedAfterMs = done.joinedAt - killedAt;
    this.movedTo = payload.url;
  }
}

/**
 * CPU seconds (user + system) and RSS of a process, from /proc. The CPU is its threads' run time in
 * nanoseconds (schedstat): /proc/PID/stat counts 10 ms ticks, which is 1 to 3 ticks for Redis over an
 * issuance band of 250 joins. A thread that ended meanwhile takes its time with it (these processes
 * keep theirs).
 */
function processUsage(pid: number): { cpuSec: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rssPages = Number(fields[21]);
  let runNs = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      runNs += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { cpuSec: runNs / 1e9, rssMb: Math.round((rssPages * 4096) / 1e5) / 10 };
}

async function nodeStatus(instance: BackendInstance, url: string): Promise<NodeStatus | undefined> {
  const nodes = (await (await fetch(`${instance.url}/api/nodes`)).json()) as Array<{ url: string; status: NodeStatus }>;
  return nodes.find((n) => n.url === url)?.status;
}

async function untilEveryInstanceSees(cluster: LocalStack, url: string, status: NodeStatus): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await Promise.all(cluster.instances.map((i) => nodeStatus(i, url)))).every((s) => s === status)) {
    if (Date.now() > deadline) throw new Error(`not every instance sees ${url} ${status} within 15 s`);
    await sleep(100);
  }
}

/** One POST with a JSON body over `agent`; answers the status and the body. */
function post(agent: Agent, url: URL, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Joins per second for `seconds`, `ISSUE_CONCURRENCY` in flight; `path(i)` per request. The load
 * generator shares the machine with what it measures: by default node:http over kept-alive
 * connections; `--client fetch` uses fetch, which spends several times the CPU per request (it held a
 * core at ~3,000 requests/s, capping the bare server there), as the figures before this client did.
 */
async function joinRate(
  base: string,
  seconds: number,
  path: (i: number) => string,
  stopAfter = Infinity,
): Promise<{ perSec: number; count: number; p99Ms: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: ISSUE_CONCURRENCY });
  const send = async (url: string, body: string) => {
    if (CLIENT === 'http') return post(agent, new URL(url), body);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, text: await res.text() };
  };
  let issued = 0;
  let done = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: ISSUE_CONCURRENCY }, async () => {
        while (performance.now() < end && issued < stopAfter) {
          const i = issued++;
          const sent = performance.now();
          const res = await send(`${base}${path(i)}`, JSON.stringify({ name: `J${i}` }));
          if (res.status !== 201) throw new Error(`join answered ${res.status}: ${res.text}`);
          latencies.push(performance.now() - sent);
          done++;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return {
    perSec: Math.round(done / ((performance.now() - started) / 1000)),
    count: done,
    p99Ms: Math.round(quantile(latencies, 0.99) * 10) / 10,
  };
}

type Rate = Awaited<ReturnType<typeof joinRate>>;

interface Quantiles {
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

const quantiles = (values: number[]): Quantiles => ({
  medianMs: Math.round(quantile(values, 0.5)),
  p95Ms: Math.round(quantile(values, 0.95)),
  maxMs: Math.round(Math.max(...values)),
});

interface FailoverResult extends Quantiles {
  participants: number;
  moved: number;
  lost: number;
  errors: string[];
  push: Quantiles;
  /** kill -> the instance sent the push (its log line for the move), per participant: the backend's own part. */
  pushSent: Quantiles;
  /** Percent of one core over the window from the kill to the last JoinResponse. */
  /** Also the bots' own (this process: the load generator shares the machine). */
  cpu: { instances: number[]; mediaNode: number; bots: number };
  rssMb: number[];
}

interface IssuanceRow {
  what: string;
  ours: number;
  bare: number;
  ratio: number;
  /** One join's latency at that load, ours and the bare server's (its own second of the same load). */
  oursP99Ms: number;
  bareP99Ms: number;
  /**
   * CPU per join (ms, user + system) of every process a join keeps busy, and their total: ours (the
   * instance, which is what the HTTP stack and our code cost, the other instance, Redis, the media nodes,
   * this load generator) and the bare server's (it and this load generator). Both sides run on the same
   * cores, so when they are saturated the joins/s ratio cannot pass bare / ours of the totals.
   */
  cpuMsPerJoin: { ours: CpuPerJoin<OursProcess>; bare: CpuPerJoin<'server'> };
}

type OursProcess = 'instance' | 'otherInstance' | 'redis' | 'mediaNodes';
/** Per named process, this one (the load generator) and in total. */
type CpuPerJoin<K extends string> = Record<K | 'loadGenerator' | 'total', number>;
type Measured<K extends string> = Rate & { cpuMsPerJoin: CpuPerJoin<K> };

interface Run {
  engine: MediaEngine;
  run: number;
  /** Absent with --part issuance. */
  failover?: FailoverResult;
  /** The same joins straight to the node, no backend, nothing killed. */
  floor?: Quantiles;
  /** Empty with --part failover. */
  issuance: IssuanceRow[];
  loadAverage: number;
}

const logLine = (line: string) => {
  if (LOG_FILE) appendFileSync(LOG_FILE, `${Date.now()} ${line}\n`);
};

/**
 * When each instance sent each session's pushes, by its own clock (the same machine's): the line it logs
 * for a move is written once the move's pushes are out (a herd's batch: once all of its are). The bots'
 * stamps add the thread that holds all 1,000 of them, whose event loop lags behind (up to 150 ms in the
 * first second after the kill, monitorEventLoopDelay): a participant's own client has no such queue.
 */
class PushSentLog {
  /** The moves' lines as they came, parsed only once the run is over (not on the bots' thread meanwhile). */
  private lines: string[] = [];

  readonly onLine = (line: string) => {
    if (LOG_FILE) logLine(line);
    if (line.includes(' rebuilt in ')) this.lines.push(line);
  };

  clear(): void {
    this.lines = [];
  }

  /** kill -> push sent, once per participant pushed (each session's first move logged after `killedAt`, epoch ms). */
  since(killedAt: number): number[] {
    const sent = new Map<string, { at: number; participants: number }>();
    for (const line of this.lines) {
      try {
        const entry = JSON.parse(line.slice(line.indexOf('{'))) as {
          time?: string;
          sessionId?: string;
          identities?: string[];
        };
        if (!entry.time || !entry.sessionId || sent.has(entry.sessionId)) continue;
        const at = Date.parse(entry.time);
        if (at >= killedAt - 1) sent.set(entry.sessionId, { at, participants: entry.identities?.length ?? 0 });
      } catch {
        // Not a JSON line: not a move's.
      }
    }
    return [...sent.values()].flatMap(({ at, participants }) =>
      Array.from({ length: participants }, () => at - killedAt),
    );
  }
}

async function failoverRun(
  cluster: LocalStack,
  bots: SignalBot[],
  rejoins: Rejoins,
  pushLog: PushSentLog,
): Promise<FailoverResult> {
  const [node1, node2] = cluster.media.nodes();
  // Every session on node-1: node-2 is dead while they are created, and back (seen up) before the kill.
  await cluster.media.kill(node2!.name);
  await untilEveryInstanceSees(cluster, node2!.url, 'down');
  const setupStarted = performance.now();
  for (let s = 0; s < SESSIONS; s += JOIN_BATCH / SIZE) {
    const batch: Array<Promise<SignalBot>> = [];
    for (let k = s; k < Math.min(SESSIONS, s + JOIN_BATCH / SIZE); k++) {
      for (let p = 0; p < SIZE; p++) batch.push(SignalBot.start(cluster.url, `scale-${k}`, `P${p}`));
    }
    bots.push(...(await Promise.all(batch)));
  }
  console.log(`  ${bots.length} participants joined in ${Math.round(performance.now() - setupStarted)} ms`);
  await cluster.media.restart(node2!.name);
  await untilEveryInstanceSees(cluster, node2!.url, 'up');
  if (bots.some((b) => b.joined.url !== node1!.url)) throw new Error('not every session is on node-1');

  const node2Pid = cluster.media.nodes().find((n) => n.name === node2!.name)!.pid!;
  const pids = [...cluster.instances.map((i) => i.pid()!), node2Pid];
  const before = pids.map(processUsage);
  const botsBefore = process.cpuUsage();
  pushLog.clear();
  const killedAt = now();
  for (const bot of bots) bot.follow(killedAt, rejoins);
  logLine('KILL');
  await cluster.media.kill(node1!.name);
  logLine('KILLED (its exit seen)');
  while (now() - killedAt < MOVE_DEADLINE_MS && bots.some((b) => b.movedAfterMs === undefined && b.error === undefined))
    await sleep(50);
  const windowSec = (now() - killedAt) / 1000;
  const after = pids.map(processUsage);
  const botsCpu = process.cpuUsage(botsBefore);
  const cpu = pids.map((_, i) => Math.round(((after[i]!.cpuSec - before[i]!.cpuSec) / windowSec) * 100));
  const moved = bots.flatMap((b) => (b.movedAfterMs === undefined || b.movedTo === node1!.url ? [] : [b.movedAfterMs]));
  const pushed = bots.flatMap((b) => (b.pushAfterMs === undefined ? [] : [b.pushAfterMs]));
  return {
    participants: bots.length,
    moved: moved.length,
    lost: bots.length - moved.length,
    errors: [...new Set(bots.flatMap((b) => (b.error ? [b.error] : [])))].slice(0, 5),
    ...quantiles(moved),
    push: quantiles(pushed),
    pushSent: quantiles(pushLog.since(killedAt)),
    cpu: {
      instances: cpu.slice(0, -1),
      mediaNode: cpu[cpu.length - 1]!,
      bots: Math.round(((botsCpu.user + botsCpu.system) / 1e6 / windowSec) * 100),
    },
    rssMb: after.slice(0, -1).map((a) => a.rssMb),
  };
}

/**
 * What the media node alone needs for the same joins: as many signal joins as the failover moved
 * (SESSIONS rooms x SIZE), all at once, straight to the surviving node with tokens minted beforehand,
 * no backend in the path: the part of kill -> JoinResponse that is the node's, on this machine. (All at
 * once is not its best case: LiveKit took longer for them so than spread over a failover's second.)
 */
async function floorRun(cluster: LocalStack): Promise<Quantiles> {
  const node = cluster.media.nodes()[1]!;
  const tokens: string[] = [];
  for (let s = 0; s < SESSIONS; s++) {
    for (let p = 0; p < SIZE; p++) {
      const token = new AccessToken(cluster.apiKey, cluster.apiSecret, { identity: `floor-${s}-${p}` });
      token.addGrant({ roomJoin: true, room: `floor-${s}` });
      tokens.push(await token.toJwt());
    }
  }
  const clients: RawSignalClient[] = [];
  const started = performance.now();
  try {
    const times = await Promise.all(
      tokens.map(async (token) => {
        const client = await RawSignalClient.connect(node.url, token);
        clients.push(client);
        await client.next('join', MOVE_DEADLINE_MS);
        return performance.now() - started;
      }),
    );
    return quantiles(times);
  } finally {
    for (const client of clients) client.close();
  }
}

/** The bare token server the issuance rows compare with. */
interface BareServer {
  url: string;
  pid: number;
}

/** CPU seconds (user + system) of processes by name, this one (the load generator) included. */
function cpuSeconds<K extends string>(pids: Record<K, number[]>): Record<K | 'loadGenerator', number> {
  const own = process.cpuUsage();
  const each = Object.entries<number[]>(pids).map(([name, list]) => [
    name,
    list.reduce((sum, pid) => sum + processUsage(pid).cpuSec, 0),
  ]);
  return { ...Object.fromEntries(each), loadGenerator: (own.user + own.system) / 1e6 } as Record<
    K | 'loadGenerator',
    number
  >;
}

/** `rate`, with each named process's (and this one's) CPU per join over it, ms, and their total. */
async function withCpu<K extends string>(pids: Record<K, number[]>, rate: () => Promise<Rate>): Promise<Measured<K>> {
  const before = cpuSeconds(pids);
  const result = await rate();
  const after = cpuSeconds(pids);
  const perJoin = (sec: number) => Math.round(((sec * 1000) / Math.max(1, result.count)) * 1000) / 1000;
  const spent = Object.entries<number>(after).map(([name, sec]) => [name, sec - before[name as K]] as const);
  return {
    ...result,
    cpuMsPerJoin: {
      ...Object.fromEntries(spent.map(([name, sec]) => [name, perJoin(sec)])),
      total: perJoin(spent.reduce((sum, [, sec]) => sum + sec, 0)),
    } as CpuPerJoin<K>,
  };
}

/** Token issuance, one instance (not through nginx) against the bare server, side by side. */
async function issuanceRun(cluster: LocalStack, bare: BareServer): Promise<IssuanceRow[]> {
  const instance = cluster.instances[0]!.url;
  const oursPids: Record<OursProcess, number[]> = {
    instance: [cluster.instances[0]!.pid()!],
    otherInstance: cluster.instances.slice(1).map((i) => i.pid()!),
    redis: [cluster.redis.pid()],
    mediaNodes: cluster.media.nodes().flatMap((n) => (n.pid ? [n.pid] : [])),
  };
  const issuance: IssuanceRow[] = [];
  const row = (what: string, ours: Measured<OursProcess>, bareRate: Measured<'server'>) =>
    issuance.push({
      what,
      ours: ours.perSec,
      bare: bareRate.perSec,
      ratio: Math.round((ours.perSec / bareRate.perSec) * 100) / 100,
      oursP99Ms: ours.p99Ms,
      bareP99Ms: bareRate.p99Ms,
      cpuMsPerJoin: { ours: ours.cpuMsPerJoin, bare: bareRate.cpuMsPerJoin },
    });
  // Both warmed up first (the JIT), then the bare server measured right before each row: the
  // machine's load drifts between rows.
  await joinRate(bare.url, 1, () => '/');
  await joinRate(instance, 1, (i) => `/api/sessions/warm-up-${i % 10}/participants`);
  const bareNow = () => withCpu({ server: [bare.pid] }, () => joinRate(bare.url, BARE_SECONDS, () => '/'));
  let size = 0;
  for (const step of GROWTH_STEPS) {
    const bareRate = await bareNow();
    const ours = await withCpu(oursPids, () =>
      joinRate(instance, ISSUE_SECONDS, () => '/api/sessions/grow/participants', step - size),
    );
    size += ours.count;
    row(
      `joins into one session, ${step - 250}->${step} participants${step === 250 ? ' (the first creates it)' : ''}`,
      ours,
      bareRate,
    );
  }
  const bareRate = await bareNow();
  const created = await withCpu(oursPids, () =>
    joinRate(instance, ISSUE_SECONDS, (i) => `/api/sessions/new-${i}/participants`),
  );
  row('joins that create a session (CreateRoom each)', created, bareRate);
  return issuance;
}

async function oneRun(engine: MediaEngine, run: number, bare: BareServer, rejoins: Rejoins): Promise<Run> {
  logLine(`RUN ${engine} ${run}`);
  const pushLog = new PushSentLog();
  const cluster = await startLocalStack({
    instances: 2,
    nodes: 2,
    port: 0,
    media: engine,
    onLog: pushLog.onLine,
    // A thousand bots and the token-rate loops share one address, one session grows to 1,000 with joins
    // that never connect (the token-rate loop's), and the row of new sessions creates thousands.
    instanceArgs: [
      '--rate-limit',
      '0',
      '--max-sockets-per-address',
      '0',
      '--max-participants',
      '1000',
      '--max-sessions-per-node',
      '0',
      '--max-unconfirmed-invites',
      '0',
    ],
  });
  const bots: SignalBot[] = [];
  try {
    const failover = PART === 'issuance' ? undefined : await failoverRun(cluster, bots, rejoins, pushLog);
    for (const bot of bots.splice(0)) bot.close();
    await rejoins.closeAll();
    // A node that refuses the floor's joins (LiveKit answers 503 to a thousand at once on a loaded
    // machine) costs the floor's row, not the failover measured before it.
    const floor =
      PART === 'issuance'
        ? undefined
        : await floorRun(cluster).catch((error: unknown) => {
            console.log(`  ${engine} run ${run}: the node alone failed: ${(error as Error).message}`);
            return undefined;
          });
    const issuance = PART === 'failover' ? [] : await issuanceRun(cluster, bare);
    return { engine, run, failover, floor, issuance, loadAverage: Math.round(loadavg()[0]! * 100) / 100 };
  } finally {
    for (const bot of bots) bot.close();
    await cluster.stop();
  }
}

const median = (values: number[]) => Math.round(quantile(values, 0.5) * 100) / 100;

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  console.log(
    `bench:scale: ${SESSIONS} sessions x ${SIZE} participants on one media node, 2 backend instances over Redis behind nginx; ` +
      `${RUNS} run(s) per engine (${BENCH_ENGINES.map((e) => ENGINE_NAMES[e]).join(', ')}), interleaved; ${cpus().length} cpus`,
  );
  const bareProcess = spawnNode(builtTest('test/bench/bare-token-server.js'), [
    'bench-key',
    'bench-secret-bench-secret-bench-secret',
  ]);
  const runs: Run[] = [];
  const rejoins = new Rejoins();
  const failures: string[] = [];
  try {
    const [, barePort] = await bareProcess.waitFor(/bare-token-server listening (\d+)/, 10_000);
    const bare = { url: `http://127.0.0.1:${barePort}`, pid: bareProcess.pid };
    for (let run = 1; run <= RUNS; run++) {
      for (const engine of run % 2 === 1 ? BENCH_ENGINES : [...BENCH_ENGINES].reverse()) {
        try {
          const result = await oneRun(engine, run, bare, rejoins);
          runs.push(result);
          const f = result.failover;
          const floor = result.floor;
          console.log(
            `${engine} run ${run}: ` +
              (f
                ? `moved ${f.moved}/${f.participants}, lost ${f.lost}; kill -> JoinResponse median ${f.medianMs} ms, p95 ${f.p95Ms} ms, last ${f.maxMs} ms; ` +
                  `kill -> push sent median ${f.pushSent.medianMs} ms, p95 ${f.pushSent.p95Ms} ms, received median ${f.push.medianMs} ms, p95 ${f.push.p95Ms} ms; ` +
                  (floor
                    ? `the node alone (${SESSIONS * SIZE} joins at once, no backend): median ${floor.medianMs} ms, p95 ${floor.p95Ms} ms, last ${floor.maxMs} ms; `
                    : '') +
                  `CPU % of one core: instances ${f.cpu.instances.join('/')}, media node ${f.cpu.mediaNode}, bots ${f.cpu.bots}; `
                : '') +
              `joins ratio ${result.issuance.map((r) => r.ratio).join('/')}${f?.errors.length ? `; errors: ${f.errors.join('; ')}` : ''}`,
          );
        } catch (error) {
          failures.push(`${engine} run ${run}: ${(error as Error).message}`);
          console.log(`FAILED ${engine} run ${run}: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    await bareProcess.stop(1_000);
    await rejoins.stop();
  }

  console.log(
    `\nfailover: the media node holding ${SESSIONS * SIZE} participants in ${SESSIONS} sessions SIGKILLed; kill -> JoinResponse on the other node, per participant; medians over runs (min-max)`,
  );
  console.log(
    '| engine | runs | moved / lost (all runs) | median | p95 | last | kill -> push sent p95 (target <= 500) | kill -> push received p95 | instances CPU % | instances RSS MB | media node CPU % | bots CPU % | target |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const span = (values: number[]) => `${median(values)} (${Math.min(...values)}-${Math.max(...values)})`;
  for (const engine of BENCH_ENGINES) {
    const mine = runs.filter((r) => r.engine === engine).flatMap((r) => (r.failover ? [r.failover] : []));
    if (mine.length === 0) continue;
    const moved = mine.reduce((n, f) => n + f.moved, 0);
    const lost = mine.reduce((n, f) => n + f.lost, 0);
    console.log(
      `| ${ENGINE_NAMES[engine]} | ${mine.length} | ${moved} / ${lost} | ${span(mine.map((f) => f.medianMs))} ms | ${span(mine.map((f) => f.p95Ms))} ms | ${span(mine.map((f) => f.maxMs))} ms | ` +
        `${span(mine.map((f) => f.pushSent.p95Ms))} ms | ${span(mine.map((f) => f.push.p95Ms))} ms | ${median(mine.flatMap((f) => f.cpu.instances))} | ${span(mine.flatMap((f) => f.rssMb))} | ${median(mine.map((f) => f.cpu.mediaNode))} | ${median(mine.map((f) => f.cpu.bots))} | p95 <= 2000, last <= 3000, 0 lost |`,
    );
  }
  console.log(
    `\nthe media node alone, in the same runs: ${SESSIONS * SIZE} signal joins at once straight to the surviving node (tokens minted beforehand, no backend, nothing killed); ` +
      'the node\'s own share of the time (all at once here; a failover spreads them). Medians over runs (min-max); "ours - node" is the p95 difference, run by run',
  );
  console.log('| engine | node alone: median | p95 | last | ours p95 / node p95 | ours p95 - node p95 |');
  console.log('|---|---|---|---|---|---|');
  for (const engine of BENCH_ENGINES) {
    const mine = runs
      .filter((r) => r.engine === engine)
      .flatMap((r) => (r.failover && r.floor ? [{ failover: r.failover, floor: r.floor }] : []));
    if (mine.length === 0) continue;
    const ratios = mine.map((r) => Math.round((r.failover.p95Ms / r.floor.p95Ms) * 100) / 100);
    const gaps = mine.map((r) => r.failover.p95Ms - r.floor.p95Ms);
    console.log(
      `| ${ENGINE_NAMES[engine]} | ${span(mine.map((r) => r.floor.medianMs))} ms | ${span(mine.map((r) => r.floor.p95Ms))} ms | ${span(mine.map((r) => r.floor.maxMs))} ms | ${span(ratios)} | ${span(gaps)} ms |`,
    );
  }
  console.log(
    `\ntoken issuance: joins/s, ${ISSUE_CONCURRENCY} in flight (client: ${CLIENT === 'http' ? 'node:http, kept-alive' : 'fetch'}), one instance (Redis store) vs a bare node:http server minting the same token; medians over every run (min-max of the ratio)`,
  );
  console.log(
    '| joins | ours /s | bare /s | ratio (target >= 0.5) | ours p99 | bare p99 | ours CPU ms / join: instance | Redis | media nodes | every process, load generator included | bare: every process | ratio the CPU allows (bare / ours, every process) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const rows = runs[0]?.issuance.map((r) => r.what) ?? [];
  for (const what of rows) {
    const all = runs.flatMap((r) => r.issuance.filter((row) => row.what === what));
    console.log(
      `| ${what} | ${median(all.map((r) => r.ours))} | ${median(all.map((r) => r.bare))} | ${span(all.map((r) => r.ratio))} | ` +
        `${span(all.map((r) => r.oursP99Ms))} ms | ${span(all.map((r) => r.bareP99Ms))} ms | ${span(all.map((r) => r.cpuMsPerJoin.ours.instance))} | ` +
        `${span(all.map((r) => r.cpuMsPerJoin.ours.redis))} | ${span(all.map((r) => r.cpuMsPerJoin.ours.mediaNodes))} | ` +
        `${span(all.map((r) => r.cpuMsPerJoin.ours.total))} | ${span(all.map((r) => r.cpuMsPerJoin.bare.total))} | ` +
        `${span(all.map((r) => Math.round((r.cpuMsPerJoin.bare.total / r.cpuMsPerJoin.ours.total) * 100) / 100))} |`,
    );
  }
  if (failures.length) console.log(`\nfailed runs (${failures.length}):\n  ${failures.join('\n  ')}`);

  const result = {
    generatedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    settings: {
      engines: BENCH_ENGINES,
      runs: RUNS,
      part: PART,
      client: CLIENT,
      sessions: SESSIONS,
      size: SIZE,
      instances: 2,
      issueSeconds: ISSUE_SECONDS,
      issueConcurrency: ISSUE_CONCURRENCY,
    },
    runs,
    failures,
  };
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(joinPath('bench-results', 'scale.json'), JSON.stringify(result, null, 2));
  console.log('\nwritten: bench-results/scale.json');
  if (failures.length) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(`bench:scale failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
