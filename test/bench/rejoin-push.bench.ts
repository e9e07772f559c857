// Time from a media node stopping to the `rejoin` push a participant's socket.io client receives.
// Real processes: the backend (compiled src/main.js) and fake media nodes (GET / + Twirp) that are
// SIGKILLed (crash) or SIGSTOPped (hang). Prints a table, writes bench-results/rejoin-push.json.
// Usage: node dist/test/bench/rejoin-push.bench.js [--runs 10]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProjectRoot } from '../../src/bootstrap';
import {
  PROBE_INTERVAL_MS,
  HUNG_AFTER_MS,
  FAILURES_TO_DOWN,
  HARD_FAILURES_TO_DOWN,
  SUCCESSES_TO_UP,
} from '../../src/nodes/node-health.policy';
import type { RejoinResponse } from '../../src/contracts';
import { startRebuildStack, RebuildStack } from '../support/rebuild-stack';
import { api, connect, join as joinSession, operatorApi } from '../support/session-client';
import { must } from '../support/must';
import { BenchFlags } from './bench-flags';

type Fault = 'kill' | 'hang';
type Path = 'probe-only' | 'client-report';

interface Sample {
  pushMs: number;
  /** client-report only: kill -> HTTP rejoin answered with the new node. */
  httpMs?: number;
  reason: string;
}

const flags = new BenchFlags('bench:rejoin-push', { runs: { type: 'string' } });
const RUNS = flags.int('runs', 10);
flags.done();

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, min: sorted[0], median: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1] };
}

async function bothNodesUp(stack: RebuildStack): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const nodes = await operatorApi<Array<{ status: string }>>(stack.app.url, '/api/nodes');
    if (nodes.body.every((n) => n.status === 'up')) return;
    if (Date.now() > deadline) throw new Error(`nodes not up again: ${JSON.stringify(nodes.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function oneRun(stack: RebuildStack, fault: Fault, path: Path, run: number): Promise<Sample> {
  await bothNodesUp(stack);
  const sessionId = `bench-${fault}-${path}-${run}`;
  const ann = await joinSession(stack.app.url, sessionId, 'Ann');
  const bob = await joinSession(stack.app.url, sessionId, 'Bob');
  const bobSocket = await connect(stack.app.url, bob);
  const annSocket = await connect(stack.app.url, ann);
  const index = stack.nodes.findIndex((n) => n.url === ann.url);
  const node = must(stack.nodes[index], `the fake node serving ${ann.url}`);
  try {
    const stoppedAt = performance.now();
    if (fault === 'kill') await node.kill();
    else await node.hang();
    let httpMs: number | undefined;
    if (path === 'client-report') {
      // The client's best case: it reports the instant its signal drops (the real one: 50-450 ms later).
      annSocket.socket.emit('media-lost', { url: ann.url });
      const res = await api<RejoinResponse>(
        stack.app.url,
        'POST',
        `/api/sessions/${sessionId}/participants/${bob.identity}/rejoin`,
        {
          rejoinKey: bob.rejoinKey,
          failedUrl: bob.url,
        },
      );
      if (res.status !== 200 || res.body.url === ann.url)
        throw new Error(`rejoin answered ${res.status} ${JSON.stringify(res.body)}`);
      httpMs = performance.now() - stoppedAt;
    }
    const push = await bobSocket.nextRejoin(2, 10_000);
    return { pushMs: push.at - stoppedAt, httpMs, reason: push.reason };
  } finally {
    annSocket.close();
    bobSocket.close();
    await node.kill();
    await stack.restartNode(index);
    for (const p of [ann, bob])
      await api(stack.app.url, 'DELETE', `/api/sessions/${sessionId}/participants/${p.identity}`, {
        rejoinKey: p.rejoinKey,
      });
  }
}

async function main(): Promise<void> {
  const scenarios: Array<[Fault, Path]> = [
    ['kill', 'probe-only'],
    ['kill', 'client-report'],
    ['hang', 'probe-only'],
    ['hang', 'client-report'],
  ];
  const results: Array<{
    fault: Fault;
    path: Path;
    samples: Sample[];
    push: ReturnType<typeof stats>;
    http?: ReturnType<typeof stats>;
  }> = [];
  const stack = await startRebuildStack(2);
  try {
    for (const [fault, path] of scenarios) {
      const samples: Sample[] = [];
      for (let run = 0; run < RUNS; run++) samples.push(await oneRun(stack, fault, path, run));
      const http = samples.filter((s) => s.httpMs !== undefined).map((s) => s.httpMs!);
      results.push({
        fault,
        path,
        samples,
        push: stats(samples.map((s) => s.pushMs)),
        http: http.length ? stats(http) : undefined,
      });
      process.stderr.write(`done: ${fault} / ${path}\n`);
    }
  } finally {
    await stack.close();
  }

  const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(0).padStart(5));
  const settings = { PROBE_INTERVAL_MS, HUNG_AFTER_MS, FAILURES_TO_DOWN, HARD_FAILURES_TO_DOWN, SUCCESSES_TO_UP };
  console.log(`rejoin push after a node stops (ms, ${RUNS} runs each; probe settings ${JSON.stringify(settings)})`);
  console.log('fault | path          |   min | median |   p90 |   max | http rejoin median');
  for (const r of results) {
    console.log(
      `${r.fault.padEnd(5)} | ${r.path.padEnd(13)} | ${fmt(r.push.min)} |  ${fmt(r.push.median)} | ${fmt(r.push.p90)} | ${fmt(r.push.max)} | ${fmt(r.http?.median)}`,
    );
  }
  const dir = join(findProjectRoot(), 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'rejoin-push.json');
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), runs: RUNS, settings, results }, null, 2));
  console.log(`written ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
