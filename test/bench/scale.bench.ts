// The backend tier at scale: `npm run bench:scale [-- --sessions 250 --size 4 --seconds 5]`.
// Two backend instances over Redis behind nginx (npm run cluster's layout, dev cluster media), and
// signal-level participants (a token from our API, the socket.io channel through nginx, the LiveKit
// signal WebSocket, no media) so a thousand fit on this machine. Every session sits on node-1; node-1 is
// SIGKILLed; measured per participant: kill -> its JoinResponse on the new node. Then token issuance:
// joins per second into one growing session and into new sessions, on one instance, next to a bare
// node:http server minting the same token. Prints tables, writes bench-results/scale.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join as joinPath } from 'node:path';
import type { NodeStatus } from '../../src/cluster/node-health.state';
import type { JoinResponse, RejoinPayload } from '../../src/contracts';
import { startLocalCluster, type BackendInstance, type LocalCluster } from '../../src/local-cluster';
import { RawSignalClient } from '../dev-cluster/raw-signal-client';
import { builtTest } from '../support/built';
import { spawnNode } from '../support/child-process';
import { connect, join, type ConnectedParticipant } from '../support/session-client';
import { BenchFlags } from './bench-flags';

const flags = new BenchFlags('bench:scale', { sessions: { type: 'string' }, size: { type: 'string' }, seconds: { type: 'string' } });
const SESSIONS = flags.int('sessions', 250);
const SIZE = flags.int('size', 4);
const ISSUE_SECONDS = flags.int('seconds', 5);
flags.done();

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

/** A participant without media: our API, our socket, LiveKit's signal protocol. Follows rejoin pushes. */
class SignalBot {
  signal: RawSignalClient | undefined;
  /** kill -> the rejoin push reached this bot (the backend's part), and -> its JoinResponse on the new node. */
  pushAfterMs: number | undefined;
  movedAfterMs: number | undefined;
  movedTo: string | undefined;
  error: string | undefined;
  private readonly ping = setInterval(() => this.signal?.send({ case: 'ping', value: BigInt(Date.now()) }), PING_EVERY_MS);

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

  follow(killedAt: number): void {
    this.socket.socket.on('rejoin', (payload: RejoinPayload) => void this.move(payload, killedAt));
  }

  close(): void {
    clearInterval(this.ping);
    this.signal?.close();
    this.socket.close();
  }

  private async move(payload: RejoinPayload, killedAt: number): Promise<void> {
    this.pushAfterMs = performance.now() - killedAt;
    this.signal?.close();
    try {
      this.signal = await RawSignalClient.connect(payload.url, payload.token);
      await this.signal.next('join', MOVE_DEADLINE_MS);
      this.movedAfterMs = performance.now() - killedAt;
      this.movedTo = payload.url;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }
}

/** user+system CPU seconds and RSS of a process, from /proc. */
function processUsage(pid: number): { cpuSec: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuSec: ticks / 100, rssMb: Math.round((rssPages * 4096) / 1e5) / 10 };
}

async function nodeStatus(instance: BackendInstance, url: string): Promise<NodeStatus | undefined> {
  const nodes = (await (await fetch(`${instance.url}/api/nodes`)).json()) as Array<{ url: string; status: NodeStatus }>;
  return nodes.find((n) => n.url === url)?.status;
}

async function untilEveryInstanceSees(cluster: LocalCluster, url: string, status: NodeStatus): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await Promise.all(cluster.instances.map((i) => nodeStatus(i, url)))).every((s) => s === status)) {
    if (Date.now() > deadline) throw new Error(`not every instance sees ${url} ${status} within 15 s`);
    await sleep(100);
  }
}

/** Joins per second for `seconds`, `ISSUE_CONCURRENCY` in flight; `path(i)` and `body(i)` per request. */
async function joinRate(base: string, seconds: number, path: (i: number) => string, stopAfter = Infinity): Promise<{ perSec: number; count: number }> {
  let issued = 0;
  let done = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: ISSUE_CONCURRENCY }, async () => {
      while (performance.now() < end && issued < stopAfter) {
        const i = issued++;
        const res = await fetch(`${base}${path(i)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `J${i}` }) });
        if (res.status !== 201) throw new Error(`join answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
        done++;
      }
    }),
  );
  return { perSec: Math.round(done / ((performance.now() - started) / 1000)), count: done };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  console.log(`bench:scale: ${SESSIONS} sessions x ${SIZE} participants, 2 backend instances over Redis behind nginx, 2 dev nodes`);
  const cluster = await startLocalCluster({ instances: 2, nodes: 2, port: 0, media: 'dev' });
  const bots: SignalBot[] = [];
  const bare = spawnNode(builtTest('test/bench/bare-token-server.js'), ['bench-key', 'bench-secret-bench-secret-bench-secret']);
  try {
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
    console.log(`${bots.length} participants joined in ${Math.round(performance.now() - setupStarted)} ms`);
    await cluster.media.restart(node2!.name);
    await untilEveryInstanceSees(cluster, node2!.url, 'up');
    if (bots.some((b) => b.joined.url !== node1!.url)) throw new Error('not every session is on node-1');

    const before = cluster.instances.map((i) => processUsage(i.pid()!));
    const killedAt = performance.now();
    for (const bot of bots) bot.follow(killedAt);
    await cluster.media.kill(node1!.name);
    while (performance.now() - killedAt < MOVE_DEADLINE_MS && bots.some((b) => b.movedAfterMs === undefined && b.error === undefined)) await sleep(50);
    const windowSec = (performance.now() - killedAt) / 1000;
    const after = cluster.instances.map((i) => processUsage(i.pid()!));
    const moved = bots.flatMap((b) => (b.movedAfterMs === undefined || b.movedTo === node1!.url ? [] : [b.movedAfterMs]));
    const lost = bots.length - moved.length;
    const pushed = bots.flatMap((b) => (b.pushAfterMs === undefined ? [] : [b.pushAfterMs]));
    const failover = {
      participants: bots.length,
      moved: moved.length,
      lost,
      errors: [...new Set(bots.flatMap((b) => (b.error ? [b.error] : [])))].slice(0, 5),
      medianMs: Math.round(quantile(moved, 0.5)),
      p95Ms: Math.round(quantile(moved, 0.95)),
      maxMs: Math.round(Math.max(...moved)),
      push: { medianMs: Math.round(quantile(pushed, 0.5)), p95Ms: Math.round(quantile(pushed, 0.95)), maxMs: Math.round(Math.max(...pushed)) },
      instances: cluster.instances.map((instance, i) => ({
        name: instance.name,
        cpuPercentOfOneCore: Math.round(((after[i]!.cpuSec - before[i]!.cpuSec) / windowSec) * 100),
        rssMb: after[i]!.rssMb,
      })),
    };
    console.log(`\nfailover: node-1 (${bots.length} participants in ${SESSIONS} sessions) SIGKILLed; kill -> JoinResponse on node-2, per participant`);
    console.log(`| moved | lost | median | p95 | max (the last) | target |`);
    console.log(`|---|---|---|---|---|---|`);
    console.log(`| ${moved.length} | ${lost} | ${failover.medianMs} ms | ${failover.p95Ms} ms | ${failover.maxMs} ms | p95 <= 2000, last <= 3000, 0 lost |`);
    console.log(`of which kill -> rejoin push (detection, rebuild, push through Redis): median ${failover.push.medianMs} ms, p95 ${failover.push.p95Ms} ms, max ${failover.push.maxMs} ms`);
    for (const i of failover.instances) console.log(`${i.name}: ${i.cpuPercentOfOneCore} % of one core over the ${windowSec.toFixed(1)} s window, RSS ${i.rssMb} MB`);
    if (failover.errors.length) console.log(`errors: ${failover.errors.join('; ')}`);
    for (const bot of bots.splice(0)) bot.close();

    // Token issuance, one instance (not through nginx) against the bare server, side by side.
    const [, barePort] = await bare.waitFor(/bare-token-server listening (\d+)/, 10_000);
    const bareUrl = `http://127.0.0.1:${barePort}`;
    const instance = cluster.instances[0]!.url;
    const issuance: Array<{ what: string; ours: number; bare: number; ratio: number }> = [];
    const row = (what: string, ours: number, bareRate: number) => issuance.push({ what, ours, bare: bareRate, ratio: Math.round((ours / bareRate) * 100) / 100 });
    // Both warmed up first (the JIT), then the bare server measured right before each row: the
    // machine's load drifts between rows.
    await joinRate(bareUrl, 1, () => '/');
    await joinRate(instance, 1, (i) => `/api/sessions/warm-up-${i % 10}/participants`);
    const bareNow = async () => (await joinRate(bareUrl, BARE_SECONDS, () => '/')).perSec;
    let size = 0;
    for (const step of GROWTH_STEPS) {
      const bareRate = await bareNow();
      const { perSec, count } = await joinRate(instance, ISSUE_SECONDS, () => '/api/sessions/grow/participants', step - size);
      size += count;
      row(`joins into one session, ${size - count}->${size} participants${size - count === 0 ? ' (the first creates it)' : ''}`, perSec, bareRate);
    }
    const bareRate = await bareNow();
    const created = await joinRate(instance, ISSUE_SECONDS, (i) => `/api/sessions/new-${i}/participants`);
    row('joins that create a session (CreateRoom each)', created.perSec, bareRate);
    console.log(`\ntoken issuance: joins/s, ${ISSUE_CONCURRENCY} in flight, one instance (Redis store) vs a bare node:http server minting the same token`);
    console.log('| joins | ours /s | bare /s | ratio (target >= 0.5) |');
    console.log('|---|---|---|---|');
    for (const r of issuance) console.log(`| ${r.what} | ${r.ours} | ${r.bare} | ${r.ratio} |`);

    const result = {
      generatedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
      settings: { sessions: SESSIONS, size: SIZE, instances: 2, issueSeconds: ISSUE_SECONDS, issueConcurrency: ISSUE_CONCURRENCY },
      failover,
      issuance,
    };
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(joinPath('bench-results', 'scale.json'), JSON.stringify(result, null, 2));
    console.log('\nwritten: bench-results/scale.json');
  } finally {
    for (const bot of bots) bot.close();
    await bare.stop(1_000);
    await cluster.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:scale failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
