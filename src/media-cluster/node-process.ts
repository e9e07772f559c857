import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitUntilStopped } from '../shared/process-state';
import type { MediaNodeInfo, MediaNodeState } from './api';

/** Where independent nodes of either engine listen, and only there (a cluster's nodes: their own 127.0.0.x). */
export const LOOPBACK_HOST = '127.0.0.1';
/** Lines kept from a node's start-up, to explain a node that died before listening. */
const KEPT_START_LINES = 60;
const READY_POLL_MS = 50;

export class NodeStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = NodeStartError.name;
  }
}

/** How an engine runs one node: its command, and how the node tells it serves. */
export interface NodeLaunch {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** A node that reads its stdin gets a pipe: it can then exit when its supervisor dies (the pipe closes). */
  stdin: 'pipe' | 'ignore';
  /** A line the node prints once it listens (not logged), or a check polled until it answers. */
  ready: { line: string } | { check: () => Promise<boolean> };
  readyTimeoutMs: number;
  /** The exit code with which the node says its port is taken, so a free range can be tried instead. */
  portInUseExitCode?: number;
}

/**
 * One media node as an OS process the pool can kill, stop and continue: the child-process handling
 * both engines share. An engine says only how its node is launched.
 */
export abstract class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private current: MediaNodeState = 'dead';
  private readonly startLines: string[] = [];

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly onLog: (line: string) => void,
    readonly host: string = LOOPBACK_HOST,
  ) {}

  protected abstract launch(): NodeLaunch;

  get url(): string {
    return `ws://${this.host}:${this.port}`;
  }

  get state(): MediaNodeState {
    return this.current;
  }

  info(): MediaNodeInfo {
    return {
      name: this.name,
      url: this.url,
      host: this.host,
      port: this.port,
      pid: this.child?.pid,
      state: this.current,
    };
  }

  start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already started`);
    const launch = this.launch();
    this.startLines.length = 0;
    const child = spawn(launch.command, launch.args, {
      env: launch.env ?? process.env,
      stdio: [launch.stdin, 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches the supervisor, which stops the nodes
      // in order, instead of killing every node at once behind its back.
      detached: true,
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: NodeStartError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) return reject(error);
        this.current = 'running';
        resolve();
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(
          new NodeStartError(`${this.name} did not listen within ${launch.readyTimeoutMs} ms${this.tail()}`, false),
        );
      }, launch.readyTimeoutMs);
      const readyLine = 'line' in launch.ready ? launch.ready.line : undefined;
      const onLine = (line: string) => {
        if (!settled && line === readyLine) return settle();
        if (!settled && this.startLines.length < KEPT_START_LINES) this.startLines.push(line);
        this.onLog(`[${this.name}] ${line}`);
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      child.stdin?.on('error', () => undefined);
      child.once('error', (error) =>
        settle(new NodeStartError(`${this.name} could not be spawned: ${error.message}`, false)),
      );
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        const wasRunning = this.current !== 'dead';
        this.current = 'dead';
        if (!settled) {
          const portInUse = code !== null && code === launch.portInUseExitCode;
          settle(
            new NodeStartError(
              `${this.name} exited (${signal ?? `code ${code}`}) before listening${this.tail()}`,
              portInUse,
            ),
          );
        } else if (wasRunning && signal !== 'SIGKILL') {
          this.onLog(`[${this.name}] exited on its own (${signal ?? `code ${code}`})`);
        }
      });
      if ('check' in launch.ready) {
        const check = launch.ready.check;
        void (async () => {
          while (!settled) {
            if (await check()) return settle();
            await new Promise((wait) => setTimeout(wait, READY_POLL_MS));
          }
        })();
      }
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    // A stopped process dies of SIGKILL too: the kernel continues it to deliver the signal.
    child.kill('SIGKILL');
    await this.exited;
  }

  /** For process exit handlers, which cannot wait. */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  /** SIGSTOP; resolves once every thread has stopped, so nothing answers from then on. */
  async hang(): Promise<void> {
    const child = this.requireAlive('hang');
    child.kill('SIGSTOP');
    this.current = 'hung';
    if (child.pid) await waitUntilStopped(child.pid);
  }

  resume(): void {
    this.requireAlive('resume').kill('SIGCONT');
    this.current = 'running';
  }

  private requireAlive(action: string): ChildProcess {
    if (!this.child) throw new Error(`cannot ${action} ${this.name}: it is dead (restart it first)`);
    return this.child;
  }

  private tail(): string {
    return this.startLines.length > 0 ? `:\n  ${this.startLines.join('\n  ')}` : '';
  }
}
