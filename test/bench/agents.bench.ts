// bench:agents: how long a session's LiveKit agent is gone when the media node under the session dies.
// Real LiveKit (pinned), our backend, the real @livekit/agents echo worker (tools/agent-worker, no model)
// and a publishing @livekit/rtc-node bot whose room settings ask for the agent, with either a second
// such bot or two Chromium participants of the sample app (our client, ResilientRoom over livekit-client).
// The node holding the session is SIGKILLed, again and again (restarted between moves); measured each
// time: kill -> the agent's first packet (data, audio or video) from a participant of that kind in the
// rebuilt session, and kill -> the old job's end. Two topologies: independent nodes (a worker registered
// with each node) and LiveKit's own cluster (the backend in cluster mode; one worker registered with
// every member). The two kinds of participant differ in LiveKit's cluster: an rtc-node Room whose signal
// a surviving member relayed takes ~3 s to disconnect, and the bot waits for it before its new Room
// (test/support/rtc-node-bot.ts says why); ResilientRoom drops its old Room unawaited.
//   node dist-test/test/bench/agents.bench.js [--moves 12] [--topology independent|cluster|both]
//     [--participants rtc-node|chromium|both]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { freePort } from '../../src/shared/ports';
import { startPings } from '../support/agent-checks';
import { startAgentWorker, type AgentEvent, type AgentWorker } from '../support/agent-worker';
import { startApp, type StartedApp } from '../support/app';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import { clientDist } from '../support/client-dist';
import { startMediaCluster, type MediaCluster, type MediaNodeInfo } from '../support/engines';
import { joinThroughPage, sleep, type Participant } from '../support/participant-page';
import { RtcNodeBot } from '../support/rtc-node-bot';
import { OPERATOR_HEADERS, operatorApi } from '../support/session-client';
import { BenchFlags } from './bench-flags';
import { summarize, type Summary } from './failover-stats';
import { RoomMap, waitUntilRegistered } from './livekit-peer';

const flags = new BenchFlags('bench:agents', {
  moves: { type: 'string' },
  topology: { type: 'string' },
  participants: { type: 'string' },
});
const MOVES = flags.int('moves', 12);
const TOPOLOGY_CHOICE = flags.string('topology', 'both', ['independent', 'cluster', 'both'] as const);
const PARTICIPANTS_CHOICE = flags.string('participants', 'both', ['rtc-node', 'chromium', 'both'] as const);
flags.done();
type Participants = 'rtc-node' | 'chromium';
const PARTICIPANT_KINDS: Participants[] =
  PARTICIPANTS_CHOICE === 'both' ? ['rtc-node', 'chromium'] : [PARTICIPANTS_CHOICE];
const PARTICIPANT_NAMES: Record<Participants, string> = {
  'rtc-node': 'two rtc-node bots',
  chromium: 'two Chromium pages (ResilientRoom)',
};
type Topology = 'independent' | 'cluster';
const TOPOLOGIES: Topology[] = TOPOLOGY_CHOICE === 'both' ? ['independent', 'cluster'] : [TOPOLOGY_CHOICE];
const TOPOLOGY_NAMES: Record<Topology, string> = {
  independent: 'independent nodes (a worker per node)',
  cluster: "LiveKit's own cluster (one worker, every member)",
};

const AGENT_NAME = 'echo';
const API_KEY = 'agents-bench-key';
const API_SECRET = 'agents-bench-secret-long-enough-for-livekit';
const NODES = 2;
/** How often each bot sends a data message: the agent's first packet after a move is at most this late. */
const PING_INTERVAL_MS = 50;
/** One move must be over (the new job hearing a participant) within this, or it counts as failed. */
const MOVE_TIMEOUT_MS = 20_000;
/** A restarted node: back in LiveKit's registry, the backend's probes and the worker's registration. */
const HEAL_TIMEOUT_MS = 30_000;
const TARGET_P95_MS = 2_000;
const OUT_DIR = resolve(process.cwd(), 'bench-results');

interface Move {
  topology: Topology;
  /** Whose packet counts: a second rtc-node bot's, or either Chromium participant's. */
  participants: Participants;
  move: number;
  /** kill -> the new job's first packet from a participant. */
  backMs: number;
  /** kill -> the new job's start. */
  jobStartMs: number;
  /** kill -> the new job joined its room (its `ctx.connect()` done). */
  jobConnectedMs?: number;
  /** The new job's `ctx.connect()` alone, and its process's CPU time over it. */
  connectMs?: number;
  connectCpuMs?: number;
  /** Chromium: kill -> each page's Room connected on the new node (its move's timing). */
  pagesConnectedMs?: number[];
  /** kill -> the old job's end; undefined when it had not ended when the move was measured. */
  oldJobEndMs?: number;
  firstPacket: string;
}

interface Setup {
  cluster: MediaCluster;
  app: StartedApp;
  workers: AgentWorker[];
  /** The node holding the session's room now. */
  host(sessionId: string, bots: RtcNodeBot[]): Promise<MediaNodeInfo>;
  /** Waits until `node`, restarted at `since`, is registered, probed up, and has the worker back. */
  healed(node: MediaNodeInfo, since: number): Promise<void>;
  stop(): Promise<void>;
}

function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${message}`);
}

/** The first event any worker logged that `match` accepts, polled. */
async function firstEvent(
  workers: AgentWorker[],
  what: string,
  match: (e: AgentEvent) => boolean,
  timeoutMs: number,
): Promise<AgentEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = workers
      .flatMap((w) => w.events())
      .filter(match)
      .sort((a, b) => a.time - b.time)[0];
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function nodeUp(app: StartedApp, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const nodes = await operatorApi<Array<{ url: string; status: string }>>(app.url, '/api/nodes').catch(
      () => undefined,
    );
    if (nodes?.body.some((n) => n.url === url && n.status === 'up')) return;
    if (Date.now() > deadline) throw new Error(`the backend does not see ${url} up within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function startSetup(topology: Topology): Promise<Setup> {
  const appPort = await freePort();
  const media = {
    nodes: NODES,
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    webhookUrl: `http://127.0.0.1:${appPort}/webhooks/livekit`,
  };
  const workers: AgentWorker[] = [];
  let app: StartedApp | undefined;
  if (topology === 'independent') {
    const cluster = await startMediaCluster('livekit', media);
    try {
      app = await startApp({
        urls: cluster.nodes().map((n) => n.url),
        apiKey: API_KEY,
        secret: API_SECRET,
        port: appPort,
        env: { CLIENT_DIST: clientDist() },
      });
      for (const node of cluster.nodes())
        workers.push(
          await startAgentWorker({ url: node.url, apiKey: API_KEY, apiSecret: API_SECRET, agentName: AGENT_NAME }),
        );
      for (const node of cluster.nodes()) await nodeUp(app, node.url, HEAL_TIMEOUT_MS);
    } catch (error) {
      for (const worker of workers) await worker.stop();
      await app?.stop();
      await cluster.stop();
      throw error;
    }
    const started = app;
    return {
      cluster,
      app: started,
      workers,
      host: async (_sessionId, bots) => {
        const url = bots[0]!.connections.at(-1)!.url;
        const node = cluster.nodes().find((n) => n.url === url);
        if (!node) throw new Error(`no node serves ${url}`);
        return node;
      },
      healed: async (node, since) => {
        const worker = workers.find((w) => w.url === node.url)!;
        await worker.waitForEvent(
          `${node.name}'s worker registered again`,
          (e) => e.event === 'worker-registered' && e.time >= since,
          HEAL_TIMEOUT_MS,
        );
        await nodeUp(started, node.url, HEAL_TIMEOUT_MS);
      },
      stop: async () => {
        for (const worker of workers) await worker.stop();
        await started.stop();
        await cluster.stop();
      },
    };
  }
  const cluster = await startMediaCluster('livekit', { ...media, topology: 'cluster' });
  const rooms = new RoomMap(cluster);
  const nodePort = cluster.nodes()[0]!.port;
  try {
    app = await startApp({
      urls: [cluster.clusterUrl],
      apiKey: API_KEY,
      secret: API_SECRET,
      port: appPort,
      args: ['--livekit-redis', cluster.livekitRedisUrl, '--node-port', String(nodePort)],
      env: { CLIENT_DIST: clientDist() },
    });
    workers.push(
      await startAgentWorker({
        url: cluster.clusterUrl,
        apiKey: API_KEY,
        apiSecret: API_SECRET,
        agentName: AGENT_NAME,
        cluster: { livekitRedis: cluster.livekitRedisUrl, nodePort },
      }),
    );
    for (const member of cluster.nodes()) {
      await workers[0]!.waitForEvent(
        `the worker registered with ${member.url}`,
        (e) => e.event === 'worker-registered' && e.registeredWith === member.url,
        HEAL_TIMEOUT_MS,
      );
      await nodeUp(app, member.url, HEAL_TIMEOUT_MS);
    }
  } catch (error) {
    for (const worker of workers) await worker.stop();
    await app?.stop();
    rooms.close();
    await cluster.stop();
    throw error;
  }
  const started = app;
  return {
    cluster,
    app: started,
    workers,
    host: (sessionId) => rooms.member(sessionId),
    healed: async (member, since) => {
      await waitUntilRegistered(cluster, HEAL_TIMEOUT_MS);
      await workers[0]!.waitForEvent(
        `the worker registered with ${member.url} again`,
        (e) => e.event === 'worker-registered' && e.registeredWith === member.url && e.time >= since,
        HEAL_TIMEOUT_MS,
      );
      await nodeUp(started, member.url, HEAL_TIMEOUT_MS);
    },
    stop: async () => {
      for (const worker of workers) await worker.stop();
      await started.stop();
      rooms.close();
      await cluster.stop();
    },
  };
}

async function benchTopology(
  topology: Topology,
  participants: Participants,
  moves: Move[],
  failures: string[],
): Promise<void> {
  const setup = await startSetup(topology);
  const bots: RtcNodeBot[] = [];
  const pages: Participant[] = [];
  let chromium: LaunchedBrowser | undefined;
  let stopPings = () => undefined as void;
  const sessionId = `agents-bench-${topology}-${participants}-${process.pid}`;
  /** Each page's log and console (its describe()), for a log file. */
  const describePages = () =>
    Promise.all(
      pages.map(async (page) => `== page ${page.name}\n${await page.describe().catch((e: Error) => e.message)}`),
    );
  /** Writes each page's log and console, and the backend's, to a file named in the bench's output. */
  const pageLogs = async (move: number) => {
    const file = join(OUT_DIR, `agents-pages-${topology}-${move}-${process.pid}.log`);
    writeFileSync(file, [...(await describePages()), `== backend\n${setup.app.output()}`].join('\n'));
    log(`  move ${move}: a page was not back yet when the agent heard the first participant (logs: ${file})`);
  };
  /** Records a failed move with what the workers, the backend and the pages said, for whoever reads it. */
  const fail = async (move: number, why: string) => {
    const file = join(OUT_DIR, `agents-failure-${topology}-${move}-${process.pid}.log`);
    const logs = setup.workers.map((w, i) => `== worker ${i} (${w.url})\n${w.output()}`);
    writeFileSync(file, [...logs, `== backend\n${setup.app.output()}`, ...(await describePages())].join('\n'));
    failures.push(`${topology}/${participants} move ${move}: ${why} (logs: ${file})`);
    log(`FAILED ${failures.at(-1)}`);
  };
  try {
    bots.push(
      await RtcNodeBot.join(setup.app.url, sessionId, 'Ann bot', {
        publish: true,
        join: { body: { room: { agents: [AGENT_NAME] } }, headers: OPERATOR_HEADERS },
      }),
    );
    if (participants === 'rtc-node') {
      bots.push(await RtcNodeBot.join(setup.app.url, sessionId, 'Bob bot', { publish: true }));
    } else {
      chromium = await launchChromium();
      for (const name of ['Cleo', 'Dan'])
        pages.push(await joinThroughPage(chromium.browser, setup.app.url, sessionId, name));
    }
    stopPings = startPings(bots, PING_INTERVAL_MS);
    // Whose packet counts: the participants of the kind measured (with Chromium, not the bot that asked
    // for the agent), never another agent's (an old job that outlived its node would send some).
    const counted = new Set(
      participants === 'rtc-node' ? bots.map((bot) => bot.identity) : await Promise.all(pages.map((p) => p.identity())),
    );
    const fromBot = (e: AgentEvent) => e.from !== undefined && counted.has(e.from);
    const first = await firstEvent(
      setup.workers,
      'the first job',
      (e) => e.event === 'job-start' && e.room === sessionId,
      MOVE_TIMEOUT_MS,
    );
    await firstEvent(
      setup.workers,
      'the first job hearing a participant',
      (e) => e.event === 'first-packet' && e.jobId === first.jobId && fromBot(e),
      MOVE_TIMEOUT_MS,
    );
    for (let move = 1; move <= MOVES; move++) {
      try {
        const movesBefore = await Promise.all(pages.map(async (p) => (await p.snapshot()).moves.length));
        const host = await setup.host(sessionId, bots);
        const oldJob = setup.workers
          .flatMap((w) => w.events({ event: 'job-start', room: sessionId }))
          .sort((a, b) => a.time - b.time)
          .at(-1)!;
        const killedAt = Date.now();
        await setup.cluster.kill(host.name);
        const newJob = await firstEvent(
          setup.workers,
          'the job in the rebuilt session',
          (e) => e.event === 'job-start' && e.room === sessionId && e.time >= killedAt,
          MOVE_TIMEOUT_MS,
        );
        const packet = await firstEvent(
          setup.workers,
          'the new job hearing a participant',
          (e) => e.event === 'first-packet' && e.jobId === newJob.jobId && fromBot(e),
          MOVE_TIMEOUT_MS,
        );
        const oldEnd = await firstEvent(
          setup.workers,
          'the old job’s end',
          (e) => e.event === 'job-end' && e.jobId === oldJob.jobId,
          MOVE_TIMEOUT_MS,
        ).catch(() => undefined);
        const connected = setup.workers
          .flatMap((w) => w.events({ event: 'job-connected' }))
          .find((e) => e.jobId === newJob.jobId);
        const pagesConnectedMs = await Promise.all(
          pages.map(async (page, i) => {
            const at = (await page.snapshot()).moves.slice(movesBefore[i]).find((m) => m.connectedAt !== undefined);
            return at ? at.connectedAt! - killedAt : Number.NaN;
          }),
        );
        const result: Move = {
          topology,
          participants,
          move,
          backMs: packet.time - killedAt,
          jobStartMs: newJob.time - killedAt,
          jobConnectedMs: connected ? connected.time - killedAt : undefined,
          connectMs: connected?.connectMs,
          connectCpuMs: connected?.connectCpuMs,
          pagesConnectedMs: pages.length > 0 ? pagesConnectedMs : undefined,
          oldJobEndMs: oldEnd ? oldEnd.time - killedAt : undefined,
          firstPacket: `${packet.kind ?? '?'} from ${packet.from ?? '?'}`,
        };
        moves.push(result);
        log(
          `${topology}/${participants} move ${move} (${host.name}): the agent's first packet ${result.backMs} ms after SIGKILL (${result.firstPacket}); ` +
            `new job ${result.jobStartMs} ms, in its room ${result.jobConnectedMs ?? '?'} ms ` +
            `(its connect ${result.connectMs ?? '?'} ms, ${result.connectCpuMs ?? '?'} ms of CPU); ` +
            (result.pagesConnectedMs
              ? `pages connected ${result.pagesConnectedMs.map((ms) => (Number.isNaN(ms) ? 'not yet' : Math.round(ms))).join(', ')} ms; `
              : '') +
            `old job ended ${result.oldJobEndMs ?? 'not yet'} ms`,
        );
        // A page not back yet when the agent heard the first participant: its log, for whoever looks into it.
        if (pagesConnectedMs.some(Number.isNaN)) await pageLogs(move);
        // A job that outlives its node is a zombie: a failure of the move, though the agent came back.
        if (!oldEnd)
          await fail(
            move,
            `the old job ${oldJob.jobId ?? '?'} had not ended ${MOVE_TIMEOUT_MS} ms after its node's death`,
          );
        const restartedAt = Date.now();
        await setup.cluster.restart(host.name);
        await setup.healed(host, restartedAt);
      } catch (error) {
        await fail(move, (error as Error).message);
        for (const node of setup.cluster.nodes()) if (node.state === 'dead') await setup.cluster.restart(node.name);
        await sleep(5_000);
      }
    }
  } catch (error) {
    // Before the first move (the first job never heard anyone, say): logged as move 0, then passed on.
    await fail(0, (error as Error).message);
    failures.pop();
    throw error;
  } finally {
    stopPings();
    for (const bot of bots) await bot.close();
    for (const page of pages) await page.close().catch(() => undefined);
    await chromium?.close();
    await setup.stop();
  }
}

function fmt(ms: number | undefined): string {
  return (ms !== undefined && Number.isFinite(ms) ? String(Math.round(ms)) : 'n/a').padStart(7);
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  mkdirSync(OUT_DIR, { recursive: true });
  const moves: Move[] = [];
  const failures: string[] = [];
  log(
    `agents benchmark: ${MOVES} moves on ${TOPOLOGIES.map((t) => TOPOLOGY_NAMES[t]).join(' and ')}, ` +
      `with ${PARTICIPANT_KINDS.map((p) => PARTICIPANT_NAMES[p]).join(' and ')}`,
  );
  for (const topology of TOPOLOGIES) {
    for (const participants of PARTICIPANT_KINDS) {
      try {
        await benchTopology(topology, participants, moves, failures);
      } catch (error) {
        failures.push(`${topology}/${participants}: ${(error as Error).message}`);
        log(`FAILED ${failures.at(-1)}`);
      }
    }
  }
  await dispose();
  const summary: Record<
    string,
    { backMs: Summary; jobStartMs: Summary; jobConnectedMs: Summary; connectMs: Summary; oldJobEndMs: Summary }
  > = {};
  const defined = (values: Array<number | undefined>) => values.filter((v): v is number => v !== undefined);
  for (const topology of TOPOLOGIES) {
    for (const participants of PARTICIPANT_KINDS) {
      const mine = moves.filter((m) => m.topology === topology && m.participants === participants);
      if (mine.length === 0) continue;
      summary[`${topology}/${participants}`] = {
        backMs: summarize(mine.map((m) => m.backMs)),
        jobStartMs: summarize(mine.map((m) => m.jobStartMs)),
        jobConnectedMs: summarize(defined(mine.map((m) => m.jobConnectedMs))),
        connectMs: summarize(defined(mine.map((m) => m.connectMs))),
        oldJobEndMs: summarize(defined(mine.map((m) => m.oldJobEndMs))),
      };
    }
  }
  const durationMs = Date.now() - startedAt;
  const outDir = OUT_DIR;
  const report = {
    generatedAt: new Date().toISOString(),
    durationMs,
    machine: { cpus: cpus().length, node: process.version },
    settings: { moves: MOVES, nodes: NODES, participants: PARTICIPANT_KINDS, pingIntervalMs: PING_INTERVAL_MS },
    targets: { p95Ms: TARGET_P95_MS },
    summary,
    failures,
    moves,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(outDir, `agents-${stamp}.json`), JSON.stringify(report, null, 2));
  writeFileSync(join(outDir, 'agents-latest.json'), JSON.stringify(report, null, 2));

  console.log(
    `\nSIGKILL of the session's node -> the agent's first packet in the rebuilt session (ms); ${cpus().length} cpus`,
  );
  console.log(
    'topology                                          participants                        moves  median    p95     max | new job median | in room median | its connect median (max) | old job ended median',
  );
  for (const [key, s] of Object.entries(summary)) {
    const [topology, participants] = key.split('/') as [Topology, Participants];
    console.log(
      `${TOPOLOGY_NAMES[topology].padEnd(49)} ${PARTICIPANT_NAMES[participants].padEnd(35)} ${String(s.backMs.count).padStart(5)} ${fmt(s.backMs.median)} ${fmt(s.backMs.p95)} ${fmt(s.backMs.max)} | ${fmt(s.jobStartMs.median).padEnd(14)} | ${fmt(s.jobConnectedMs.median).padEnd(14)} | ${`${fmt(s.connectMs.median)} (${fmt(s.connectMs.max).trim()})`.padEnd(24)} | ${fmt(s.oldJobEndMs.median)}` +
        ` (p95 target ${TARGET_P95_MS} ms ${s.backMs.p95 <= TARGET_P95_MS ? 'met' : 'missed'})`,
    );
  }
  if (failures.length) console.log(`failed moves (${failures.length}):\n  ${failures.join('\n  ')}`);
  console.log(`wrote ${join(outDir, 'agents-latest.json')}; total duration ${(durationMs / 1000).toFixed(0)} s`);
  if (failures.length > 0 || moves.length === 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
