// The LiveKit agent worker (tools/agent-worker, a real @livekit/agents worker running the echo agent) as
// a spec drives it: started against one LiveKit URL with an agent name (in LiveKit's own cluster: its URL
// and Redis, and the worker registers with every member), its log lines read as events (worker
// registered, job start and end, the first packet from each participant), stopped with the job processes
// it forked. Built by `npm run agents:install`.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fromRoot } from './built';

/** From the sources (specs) or from dist-test/ (benchmarks) alike. */
export const AGENT_WORKER_MAIN = fromRoot('tools/agent-worker/dist/main.js');

/** Registration takes ~3 s here (importing @livekit/agents, forking a job process); more on a busy machine. */
const REGISTER_TIMEOUT_MS = 30_000;
/** SIGTERM closes the worker and its job processes (each leaves its room); then SIGKILL for the group. */
const STOP_GRACE_MS = 5_000;

/** One log line of the worker or its jobs that names an event (the agent's and the worker's own). */
export interface AgentEvent {
  event: string;
  /** Epoch ms the line was logged (pino's `time`): comparable with Date.now() in the spec. */
  time: number;
  room?: string;
  jobId?: string;
  from?: string;
  kind?: 'data' | 'audio' | 'video';
  reason?: string;
  why?: string;
  url?: string;
  workerId?: string;
  /** worker-registered, job-start: the URL the registration went to (in a cluster, one member's). */
  registeredWith?: string;
  /** member-found: the member's URL and LiveKit's id for it. */
  memberUrl?: string;
  nodeId?: string;
  /** job-connected: how long the job's `ctx.connect()` took, and the job process's CPU time over it. */
  connectMs?: number;
  connectCpuMs?: number;
}

export interface AgentWorker {
  url: string;
  pid: number;
  output(): string;
  events(filter?: Partial<Pick<AgentEvent, 'event' | 'room' | 'jobId'>>): AgentEvent[];
  /** Resolves with the first event (already logged or to come) that `match` accepts. */
  waitForEvent(what: string, match: (event: AgentEvent) => boolean, timeoutMs: number): Promise<AgentEvent>;
  /** Command lines of the processes the worker runs (its job processes, an inference process if any). */
  childCommands(): string[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    // The worker leads its own process group (detached): its job processes go with it.
    process.kill(-child.pid!, signal);
  } catch {
    /* already gone */
  }
}

export async function startAgentWorker(options: {
  url: string;
  apiKey: string;
  apiSecret: string;
  agentName: string;
  /** LiveKit's own cluster: its Redis, and the signal port of its members (`url` is then the cluster's). */
  cluster?: { livekitRedis: string; nodePort: number };
}): Promise<AgentWorker> {
  if (!existsSync(AGENT_WORKER_MAIN)) {
    throw new Error(`the agent worker is not built (${AGENT_WORKER_MAIN} is missing): run \`npm run agents:install\``);
  }
  const child = spawn(
    process.execPath,
    [
      AGENT_WORKER_MAIN,
      '--url',
      options.url,
      '--api-key',
      options.apiKey,
      '--agent-name',
      options.agentName,
      ...(options.cluster ? ['--node-port', String(options.cluster.nodePort)] : []),
    ],
    {
      // The secrets by env, not on the command line where `ps` shows them (a Redis URL may hold a password).
      env: {
        ...process.env,
        LIVEKIT_API_SECRET: options.apiSecret,
        LIVEKIT_REDIS_URL: options.cluster?.livekitRedis ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  if (!child.pid) throw new Error('could not spawn the agent worker');
  running.add(child);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  void exited.then(() => running.delete(child));

  let out = '';
  let partial = '';
  const events: AgentEvent[] = [];
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    out += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as Partial<AgentEvent>;
        if (typeof parsed.event === 'string' && typeof parsed.time === 'number') events.push(parsed as AgentEvent);
      } catch {
        /* not one of the JSON lines */
      }
    }
    for (const check of waiters) check();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  const worker: AgentWorker = {
    url: options.url,
    pid: child.pid,
    output: () => out,
    events: (filter = {}) =>
      events.filter((e) =>
        Object.entries(filter).every(([key, value]) => (e as unknown as Record<string, unknown>)[key] === value),
      ),
    waitForEvent: (what, match, timeoutMs) =>
      new Promise((done, fail) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`agent worker (${options.url}): no ${what} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        const check = () => {
          const found = events.find(match);
          if (found) {
            clearTimeout(timer);
            waiters.delete(check);
            done(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            fail(new Error(`agent worker (${options.url}) exited before ${what}; output:\n${out}`));
          }
        };
        waiters.add(check);
        check();
      }),
    childCommands: () => descendants(child.pid!).map(commandLine),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      // Job processes that outlived the worker (none should) go with the group.
      killGroup(child, 'SIGKILL');
    },
  };
  try {
    await worker.waitForEvent('registration', (e) => e.event === 'worker-registered', REGISTER_TIMEOUT_MS);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

/** Every process below `pid` (Linux /proc). */
function descendants(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(join('/proc', String(pid), 'cmdline'), 'utf8')
      .split('\0')
      .join(' ')
      .trim();
  } catch {
    return '';
  }
}
