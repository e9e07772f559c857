// What one sweep costs at scale: its duration and the longest event-loop stall while it runs, on the
// memory store and on Redis (a real redis-server), with N sessions of P participants. Two rounds per
// store: nothing to do (everyone joined, every room occupied: the sweep's usual case, every 5 s on
// every instance), then one participant who left in each of 1 % of the sessions, once the grace period
// is over. The backend runs in this process over scripted nodes (the rooms' counts come from them); its
// own sweep schedule is stopped so only the measured sweeps run.
// Prints a table, writes bench-results/sweep.json.
// Usage: npm run bench:sweep -- [--sessions 10000] [--participants 10] [--runs 3] [--stores memory,redis]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { PARTICIPANT_LEFT_GRACE_MS } from '../../src/sessions/session-policy';
import { SessionSweeperService } from '../../src/sessions/session-sweeper.service';
import type { ParticipantRecord, SessionRecord } from '../../src/sessions/session.model';
import { SESSION_STORE, type SessionStore } from '../../src/sessions/store/session-store';
import { startInProcessApp } from '../support/in-process-app';
import { startRedisServer } from '../support/redis-server';
import { BenchFlags } from './bench-flags';

const flags = new BenchFlags('bench:sweep', {
  sessions: { type: 'string' },
  participants: { type: 'string' },
  runs: { type: 'string' },
  stores: { type: 'string' },
});
const SESSIONS = flags.int('sessions', 10_000);
const PARTICIPANTS = flags.int('participants', 10);
const RUNS = flags.int('runs', 3);
const STORES = flags.words('stores', ['memory', 'redis'], ['memory', 'redis'] as const);
flags.done();
/** Sessions with one participant who left, in the second round. */
const LEAVERS = Math.max(1, Math.round(SESSIONS / 100));
/** Populating Redis: saves in flight at once. */
const SAVE_PARALLEL = 64;

interface Row {
  store: string;
  round: 'nothing due' | 'leavers due';
  sessions: number;
  participants: number;
  sweepMs: number[];
  stallMs: number[];
  pruned: number[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const round1 = (n: number) => Math.round(n * 10) / 10;

function record(sessionId: string, nodeUrl: string, now: number): SessionRecord {
  const participants: Record<string, ParticipantRecord> = {};
  for (let i = 0; i < PARTICIPANTS; i++) {
    const identity = `p${i}-${sessionId}`;
    participants[identity] = {
      identity,
      name: `Participant ${i}`,
      metadata: '{"role":"member"}',
      grants: { canPublish: true, canSubscribe: true, canPublishData: true },
      rejoinKeyHash: 'f'.repeat(64),
      state: 'joined',
      invitedAt: now - 60_000,
      joinedAt: now - 59_000,
      connectionSid: `PA_${identity}`,
      lastEventAt: Math.floor(now / 1000) - 59,
    };
  }
  return {
    sessionId,
    room: { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 100 },
    nodeUrl,
    roomSid: `RM_${sessionId}`,
    generation: 1,
    waitingForNode: false,
    createdAt: now - 60_000,
    seenOccupied: true,
    participants,
  };
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += SAVE_PARALLEL) await Promise.all(items.slice(i, i + SAVE_PARALLEL).map(work));
}

/** A timer every PROBE_MS: how much later than asked it ran is how long the event loop was held. */
const PROBE_MS = 5;

/** One sweep, timed, with the longest event-loop stall seen while it ran. */
async function measured(sweeper: SessionSweeperService): Promise<{ ms: number; stallMs: number; pruned: number }> {
  let stallMs = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - PROBE_MS);
    last = now;
  }, PROBE_MS);
  const started = performance.now();
  const result = await sweeper.sweep();
  const ms = performance.now() - started;
  // A stall that lasted until the sweep's end shows at the probe's next tick.
  await new Promise((resolve) => setTimeout(resolve, 4 * PROBE_MS));
  clearInterval(probe);
  return { ms, stallMs: Math.max(0, stallMs), pruned: result.prunedParticipants };
}

async function benchStore(kind: 'memory' | 'redis'): Promise<Row[]> {
  const redis = kind === 'redis' ? await startRedisServer() : undefined;
  const stack = await startInProcessApp({ nodes: 2, args: redis ? ['--redis', redis.url] : [] });
  try {
    const sweeper = stack.app.get(SessionSweeperService);
    sweeper.onModuleDestroy(); // its schedule: only the measured sweeps run
    const store = stack.app.get<SessionStore>(SESSION_STORE);
    const now = Date.now();
    const ids = Array.from({ length: SESSIONS }, (_, i) => `sweep-${i}`);
    const populated = performance.now();
    await inBatches(ids, async (id) => {
      const url = stack.nodes.urls[Number(id.slice(6)) % stack.nodes.urls.length]!;
      stack.nodes.rooms.get(url)!.set(id, { name: id, sid: `RM_${id}`, participants: PARTICIPANTS });
      await store.save(record(id, url, now));
    });
    console.log(
      `${kind}: ${SESSIONS} sessions of ${PARTICIPANTS} saved in ${Math.round(performance.now() - populated)} ms`,
    );

    const idle: Row = {
      store: kind,
      round: 'nothing due',
      sessions: SESSIONS,
      participants: SESSIONS * PARTICIPANTS,
      sweepMs: [],
      stallMs: [],
      pruned: [],
    };
    for (let run = 0; run < RUNS; run++) {
      const m = await measured(sweeper);
      idle.sweepMs.push(m.ms);
      idle.stallMs.push(m.stallMs);
      idle.pruned.push(m.pruned);
      console.log(
        `${kind}, nothing due, run ${run + 1}/${RUNS}: ${round1(m.ms)} ms, longest stall ${round1(m.stallMs)} ms`,
      );
    }

    // One participant leaves in 1 % of the sessions (as DELETE writes it); forgotten after the grace period.
    await inBatches(ids.slice(0, LEAVERS), async (id) => {
      const session = (await store.get(id))!;
      const leaver = Object.values(session.participants)[0]!;
      leaver.state = 'left';
      leaver.leftAt = Date.now();
      await store.save(session);
    });
    await new Promise((resolve) => setTimeout(resolve, PARTICIPANT_LEFT_GRACE_MS + 1_000));
    const m = await measured(sweeper);
    console.log(
      `${kind}, ${LEAVERS} leavers due: ${round1(m.ms)} ms, longest stall ${round1(m.stallMs)} ms, ${m.pruned} forgotten`,
    );
    if (m.pruned !== LEAVERS) throw new Error(`the sweep forgot ${m.pruned} participants, expected ${LEAVERS}`);
    const due: Row = {
      store: kind,
      round: 'leavers due',
      sessions: SESSIONS,
      participants: SESSIONS * PARTICIPANTS,
      sweepMs: [m.ms],
      stallMs: [m.stallMs],
      pruned: [m.pruned],
    };
    return [idle, due];
  } finally {
    await stack.close();
    await redis?.close();
  }
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((l) => l.toFixed(2));
  const rows: Row[] = [];
  for (const kind of STORES) rows.push(...(await benchStore(kind)));
  const machine = {
    cpus: cpus().length,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg().map((l) => l.toFixed(2)),
  };
  console.log(
    `\nsweep: ${SESSIONS} sessions x ${PARTICIPANTS} participants; 'nothing due' ${RUNS} run(s), 'leavers due' one sweep after ${LEAVERS} participants left`,
  );
  console.log(
    `machine: ${machine.cpus} cpus, load average ${machine.loadAverageAtStart[0]} at start, ${machine.loadAverageAtEnd[0]} at end`,
  );
  console.log(
    '| store | round | sessions | participants | sweep (median) | sweep (max) | longest event-loop stall (max) | forgotten |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.store} | ${r.round} | ${r.sessions} | ${r.participants} | ${round1(median(r.sweepMs))} ms | ${round1(Math.max(...r.sweepMs))} ms | ${round1(Math.max(...r.stallMs))} ms | ${r.pruned[0]} |`,
    );
  }
  const outDir = join(process.cwd(), 'bench-results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'sweep.json'),
    `${JSON.stringify({ sessions: SESSIONS, participantsPerSession: PARTICIPANTS, runs: RUNS, machine, rows }, null, 2)}\n`,
  );
  console.log('\nwritten: bench-results/sweep.json');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
