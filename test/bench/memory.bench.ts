// What a session and a participant cost in memory: one instance holding 10,000 participants, joined
// through the HTTP API as clients would (the backend in this process over scripted nodes, whose joins
// create rooms), in two shapes that separate the two costs: many small sessions and a few large ones.
// Memory store: the instance's heap after a full GC, above the same app holding nothing. Redis store:
// Redis' own used_memory above its empty state (a real redis-server), and the instance's heap beside it.
// Per participant and per session from the two shapes (two equations, two unknowns), per run; medians.
// Prints a table, writes bench-results/memory.json.
// Usage: npm run bench:memory -- [--participants 10000] [--runs 3] [--stores memory,redis]
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { startRedisServer, storeClient, type RedisServer } from '../support/redis-server';
import { BenchFlags } from './bench-flags';

const flags = new BenchFlags('bench:memory', {
  participants: { type: 'string' },
  runs: { type: 'string' },
  stores: { type: 'string' },
});
const PARTICIPANTS = flags.int('participants', 10_000);
const RUNS = flags.int('runs', 3);
const STORES = flags.words('stores', ['memory', 'redis'], ['memory', 'redis'] as const);
flags.done();

/** The two shapes: participants per session. */
const SMALL = 4;
const LARGE = 1_000;
const IN_FLIGHT = 16;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('bench:memory: run node with --expose-gc (npm run bench:memory does)');
  process.exit(2);
}

function settledHeap(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

/** A kept-alive connection the server closed as it was reused fails the request: sent again once. */
async function post(base: string, path: string, body: unknown): Promise<number> {
  try {
    return await postOnce(base, path, body);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') throw error;
    return postOnce(base, path, body);
  }
}

function postOnce(base: string, path: string, body: unknown): Promise<number> {
  const url = new URL(path, base);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** `sessions` sessions of `size` participants, IN_FLIGHT joins at a time; fails on any answer but 201 (503s asked again). */
async function populate(app: InProcessApp, prefix: string, sessions: number, size: number): Promise<void> {
  const joins: Array<[string, string]> = [];
  for (let p = 0; p < size; p++) for (let s = 0; s < sessions; s++) joins.push([`${prefix}-${s}`, `P${p}`]);
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < joins.length) {
        const [sessionId, name] = joins[next++]!;
        let status = await post(app.url, `/api/sessions/${sessionId}/participants`, { name });
        // A loaded machine can keep Redis past the store's command timeout: asked again, as a client would.
        for (let retry = 0; status === 503 && retry < 5; retry++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          status = await post(app.url, `/api/sessions/${sessionId}/participants`, { name });
        }
        if (status !== 201) throw new Error(`join ${sessionId} answered ${status}`);
      }
    }),
  );
}

interface Measure {
  /** Instance heap above the empty app. */
  heap: number;
  /** Redis used_memory above its empty state (Redis store only). */
  redis?: number;
}

async function redisUsed(server: RedisServer): Promise<number> {
  const client = await storeClient(server);
  try {
    const info = await client.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1]);
  } finally {
    client.disconnect();
  }
}

async function measureShape(store: 'memory' | 'redis', sessions: number, size: number): Promise<Measure> {
  const redis = store === 'redis' ? await startRedisServer() : undefined;
  // Every join from this one address, sessions as large as the shape: the limits that would refuse them are off.
  const app = await startInProcessApp({
    args: [
      ...(redis ? ['--redis', redis.url] : []),
      '--max-participants',
      '0',
      '--max-sessions-per-node',
      '0',
      '--max-unconfirmed-invites',
      '0',
    ],
  });
  try {
    for (const url of app.nodes.urls) app.nodes.autoCreate.add(url);
    // Warm every code path once (a session, a join into it), then the baseline.
    await populate(app, 'warm', 1, 2);
    const redisBefore = redis ? await redisUsed(redis) : 0;
    const heapBefore = settledHeap();
    await populate(app, 'shape', sessions, size);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // CreateRoom follow-ups, written back
    const heap = settledHeap() - heapBefore;
    return { heap, ...(redis && { redis: (await redisUsed(redis)) - redisBefore }) };
  } finally {
    await app.close();
    await redis?.close();
  }
}

/**
 * Per session and per participant from the two shapes: total = sessions * perSession + PARTICIPANTS *
 * perParticipant, with the same participants in both, so the difference is the sessions'.
 */
function solve(small: number, large: number): { perSession: number; perParticipant: number } {
  const [sessionsSmall, sessionsLarge] = [PARTICIPANTS / SMALL, PARTICIPANTS / LARGE];
  const perSession = (small - large) / (sessionsSmall - sessionsLarge);
  return { perSession, perParticipant: (small - sessionsSmall * perSession) / PARTICIPANTS };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};

interface Row {
  store: string;
  what: string;
  runs: number;
  perSession: number[];
  perParticipant: number[];
  totalSmall: number[];
  totalLarge: number[];
}

async function main(): Promise<void> {
  if (PARTICIPANTS % LARGE !== 0 || PARTICIPANTS % SMALL !== 0)
    throw new Error(`--participants must be a multiple of ${LARGE}`);
  console.log(
    `bench:memory: ${PARTICIPANTS} participants joined through the API, as ${PARTICIPANTS / SMALL} sessions of ${SMALL} and as ${PARTICIPANTS / LARGE} of ${LARGE}; ${RUNS} run(s) per store; ${cpus().length} cpus, node ${process.version}`,
  );
  const rows: Row[] = [];
  for (const store of STORES) {
    const heap: Row = {
      store,
      what: 'instance heap',
      runs: RUNS,
      perSession: [],
      perParticipant: [],
      totalSmall: [],
      totalLarge: [],
    };
    const redis: Row = {
      store,
      what: 'Redis used_memory',
      runs: RUNS,
      perSession: [],
      perParticipant: [],
      totalSmall: [],
      totalLarge: [],
    };
    for (let run = 1; run <= RUNS; run++) {
      const small = await measureShape(store, PARTICIPANTS / SMALL, SMALL);
      const large = await measureShape(store, PARTICIPANTS / LARGE, LARGE);
      for (const [row, a, b] of [
        [heap, small.heap, large.heap],
        ...(store === 'redis' ? [[redis, small.redis!, large.redis!] as const] : []),
      ] as Array<[Row, number, number]>) {
        const { perSession, perParticipant } = solve(a, b);
        row.perSession.push(perSession);
        row.perParticipant.push(perParticipant);
        row.totalSmall.push(a);
        row.totalLarge.push(b);
      }
      console.log(
        `  ${store} run ${run}: heap +${kb(small.heap)} (sessions of ${SMALL}) / +${kb(large.heap)} (of ${LARGE})` +
          (store === 'redis' ? `; Redis +${kb(small.redis!)} / +${kb(large.redis!)}` : ''),
      );
    }
    rows.push(heap);
    if (store === 'redis') rows.push(redis);
  }
  console.log(`\nmemory at ${PARTICIPANTS} participants; medians over runs (min-max)`);
  console.log(
    `| store | where | per session (bytes) | per participant (bytes) | ${PARTICIPANTS / SMALL} sessions of ${SMALL} | ${PARTICIPANTS / LARGE} of ${LARGE} |`,
  );
  console.log('|---|---|---|---|---|---|');
  for (const row of rows)
    console.log(
      `| ${row.store} | ${row.what} | ${spread(row.perSession)} | ${spread(row.perParticipant)} | ${mb(median(row.totalSmall))} | ${mb(median(row.totalLarge))} |`,
    );
  const outDir = join(process.cwd(), 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'memory.json'),
    JSON.stringify({ participants: PARTICIPANTS, shapes: [SMALL, LARGE], node: process.version, rows }, null, 2),
  );
  console.log('\nwritten: bench-results/memory.json');
  agent.destroy();
}

const kb = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const spread = (values: number[]) =>
  `${Math.round(median(values))} (${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))})`;

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
