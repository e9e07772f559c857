// A media node holding N sessions dies: how long until every one of them is rebuilt, and how evenly they
// spread over the survivors, for each width of the rebuild queue (REBUILD_CONCURRENCY is sized from this).
// Real processes for the media side: 3 nodes of either engine (--engine dev|livekit; RoomService over
// HTTP, GET / probes, SIGKILL);
// the backend runs in this process so the queue width can vary between rows. No media flows: the figure
// is the backend's part of a move (detect, place, CreateRoom, mint, push), which every participant waits on.
// Prints a table, writes bench-results/rebuild-herd.json.
// Usage: npm run bench:rebuild-herd -- [--engine dev] [--runs 3] [--sessions 100] [--widths 1,2,4,8,16,32,128]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/bootstrap';
import { parseConfig } from '../../src/config/parse-config';
import { ENGINE_NAMES, startMediaCluster, type MediaCluster } from '../support/engines';
import { operatorApi, TEST_ADMIN_TOKEN } from '../support/session-client';
import { REBUILD_CONCURRENCY } from '../../src/sessions/rebuild/session-mover.service';
import { SESSION_STORE, type SessionStore } from '../../src/sessions/store/session-store';
import { must } from '../support/must';
import { BenchFlags } from './bench-flags';

const flags = new BenchFlags('bench:rebuild-herd', {
  engine: { type: 'string' },
  runs: { type: 'string' },
  sessions: { type: 'string' },
  widths: { type: 'string' },
});
const ENGINE = flags.string('engine', 'dev', ['dev', 'livekit'] as const);
const RUNS = flags.int('runs', 3);
const SESSIONS = flags.int('sessions', 100);
const WIDTHS = flags.ints('widths', [1, 2, 4, 8, 16, 32, 128]);
flags.done();
const API_KEY = 'bench-key';
const API_SECRET = 'bench-secret-bench-secret-bench-secret';

interface Run {
  width: number;
  sessionsMoved: number;
  participantsMoved: number;
  /** kill -> each session's rebuild saved (ms). */
  perSession: number[];
  lastMs: number;
  /** Survivors' load after the move. */
  survivors: Array<{ url: string; sessions: number; participants: number }>;
  /** Most-loaded survivor's participants over the fair share (1 = perfectly even). */
  imbalance: number;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const round = (n: number) => Math.round(n);

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
}

async function nodesUp(appUrl: string, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const nodes = (await operatorApi<Array<{ status: string }>>(appUrl, '/api/nodes')).body;
    if (nodes.filter((n) => n.status === 'up').length === count) return;
    if (Date.now() > deadline) throw new Error(`nodes not all up: ${JSON.stringify(nodes)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function oneRun(cluster: MediaCluster, width: number, runId: string): Promise<Run> {
  const urls = cluster.nodes().map((n) => n.url);
  const victim = must(urls[0], 'a first media node to kill');
  const config = parseConfig(
    [
      '--api-key',
      API_KEY,
      '--secret',
      API_SECRET,
      '--port',
      '0',
      '--admin-token',
      TEST_ADMIN_TOKEN,
      '--rate-limit',
      '0',
      ...urls.flatMap((u) => ['--url', u]),
    ],
    {},
  );
  const app = await createApp(config, null, { rebuildConcurrency: width });
  await app.listen(0, '127.0.0.1');
  const appUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  try {
    await nodesUp(appUrl, urls.length);
    // Sessions of 1-4 participants; placement spreads them, so 3N sessions put about N on each node.
    const joins: Array<() => Promise<void>> = [];
    for (let i = 0; i < SESSIONS * urls.length; i++) {
      for (let p = 0; p <= i % 4; p++)
        joins.push(() => post(`${appUrl}/api/sessions/${runId}-${i}/participants`, { name: `P${p}` }));
    }
    for (let i = 0; i < joins.length; i += 16) await Promise.all(joins.slice(i, i + 16).map((f) => f()));
    const store = app.get<SessionStore>(SESSION_STORE);
    const moving = (await Promise.all((await store.sessionIdsOn(victim)).map((id) => store.get(id)))).filter(
      (s) => s !== undefined,
    );
    const participantsMoved = moving.reduce((n, s) => n + Object.keys(s.participants).length, 0);

    const killedAt = Date.now();
    await cluster.kill(victim);
    const deadline = killedAt + 60_000;
    while ((await store.sessionIdsOn(victim)).length > 0) {
      if (Date.now() > deadline) throw new Error('sessions still on the dead node after 60 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const after = await store.list();
    const moved = after.filter((s) => moving.some((m) => m.sessionId === s.sessionId));
    const perSession = moved.map((s) => (s.rebuiltAt ?? NaN) - killedAt);
    const loads = await store.loadByNode();
    const survivors = urls.slice(1).map((url) => ({ url, ...(loads.get(url) ?? { sessions: 0, participants: 0 }) }));
    const totalParticipants = survivors.reduce((n, s) => n + s.participants, 0);
    return {
      width,
      sessionsMoved: moving.length,
      participantsMoved,
      perSession,
      lastMs: Math.max(...perSession),
      survivors,
      imbalance: Math.max(...survivors.map((s) => s.participants)) / (totalParticipants / survivors.length),
    };
  } finally {
    await app.close();
    await cluster.restart(victim);
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((l) => l.toFixed(2));
  const cluster = await startMediaCluster(ENGINE, { nodes: 3, basePort: 0, apiKey: API_KEY, apiSecret: API_SECRET });
  const runs: Run[] = [];
  try {
    // Interleaved: every width once per round, so a busy moment of the machine hits all rows alike.
    for (let pass = 0; pass < RUNS; pass++) {
      for (const width of WIDTHS) {
        const run = await oneRun(cluster, width, `r${pass}w${width}`);
        runs.push(run);
        console.log(
          `round ${pass + 1}/${RUNS} width ${width}: ${run.sessionsMoved} sessions (${run.participantsMoved} participants) moved, last after ${round(run.lastMs)} ms, ` +
            `survivors ${run.survivors.map((s) => `${s.sessions}/${s.participants}`).join(' and ')} (sessions/participants)`,
        );
      }
    }
  } finally {
    await cluster.stop();
  }
  const rows = WIDTHS.map((width) => {
    const mine = runs.filter((r) => r.width === width);
    const all = mine.flatMap((r) => r.perSession);
    return {
      width,
      runs: mine.length,
      sessionsMoved: round(mine.reduce((n, r) => n + r.sessionsMoved, 0) / mine.length),
      medianMs: round(quantile(all, 0.5)),
      p95Ms: round(quantile(all, 0.95)),
      lastMedianMs: round(
        quantile(
          mine.map((r) => r.lastMs),
          0.5,
        ),
      ),
      lastMaxMs: round(Math.max(...mine.map((r) => r.lastMs))),
      worstImbalance: Math.max(...mine.map((r) => r.imbalance)).toFixed(3),
    };
  });
  const machine = {
    cpus: cpus().length,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg().map((l) => l.toFixed(2)),
  };
  console.log(
    `\nrebuild herd: a node with ~${SESSIONS} sessions SIGKILLed, 3 nodes (${ENGINE_NAMES[ENGINE]}), ${RUNS} run(s) per width, interleaved`,
  );
  console.log(
    `machine: ${machine.cpus} cpus, load average ${machine.loadAverageAtStart[0]} at start, ${machine.loadAverageAtEnd[0]} at end; REBUILD_CONCURRENCY = ${REBUILD_CONCURRENCY}`,
  );
  console.log(
    '| width | runs | sessions moved | per session median | p95 | last (median of runs) | last (max) | most-loaded survivor / fair share |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.width} | ${r.runs} | ${r.sessionsMoved} | ${r.medianMs} ms | ${r.p95Ms} ms | ${r.lastMedianMs} ms | ${r.lastMaxMs} ms | ${r.worstImbalance} |`,
    );
  }
  const outDir = join(process.cwd(), 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, `rebuild-herd-${ENGINE}.json`),
    `${JSON.stringify({ engine: ENGINE, machine, rows, runs }, null, 2)}\n`,
  );
  console.log(`\nwritten: bench-results/rebuild-herd-${ENGINE}.json`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
