import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DevNodeInfo, DevNodeState } from './api';
import {
  encodeNodeConfig,
  LOOPBACK_HOST,
  NODE_CONFIG_ENV,
  PORT_IN_USE_EXIT_CODE,
  READY_MARKER,
  type NodeConfig,
} from './node/node-config';

const NODE_ENTRY = join(__dirname, 'node', 'media-node.main.js');
const READY_TIMEOUT_MS = 15_000;
/** Lines kept from a node's start-up, to explain a node that died before listening. */
const KEPT_START_LINES = 60;

export class NodeStartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
    this.name = NodeStartError.name;
  }
}

/** One media node as an OS process the supervisor can kill, stop and continue. */
export class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private current: DevNodeState = 'dead';
  private readonly startLines: string[] = [];

  constructor(
    private readonly config: NodeConfig,
    private readonly onLog: (line: string) => void,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get url(): string {
    return `ws://${LOOPBACK_HOST}:${this.config.port}`;
  }

  get state(): DevNodeState {
    return this.current;
  }

  info(): DevNodeInfo {
    return { name: this.name, url: this.url, port: this.config.port, pid: this.child?.pid, state: this.current };
  }

  start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already started`);
    this.startLines.length = 0;
    const child = spawn(process.execPath, [NODE_ENTRY], {
      env: { ...process.env, [NODE_CONFIG_ENV]: encodeNodeConfig(this.config) },
      // stdin stays open: a node exits when it closes, i.e. when the supervisor dies.
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches the supervisor, which stops the nodes
      // in order, instead of killing every node at once behind its back.
      detached: true,
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));

    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new NodeStartError(`${this.name} did not listen within ${READY_TIMEOUT_MS} ms${this.tail()}`, false));
      }, READY_TIMEOUT_MS);
      const onLine = (line: string) => {
        if (!ready && line === READY_MARKER) {
          ready = true;
          clearTimeout(timer);
          this.current = 'running';
          resolve();
          return;
        }
        if (!ready && this.startLines.length < KEPT_START_LINES) this.startLines.push(line);
        this.onLog(`[${this.name}] ${line}`);
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      child.stdin!.on('error', () => undefined);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new NodeStartError(`${this.name} could not be spawned: ${error.message}`, false));
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        const wasRunning = this.current !== 'dead';
        this.current = 'dead';
        if (!ready) {
          clearTimeout(timer);
          const portInUse = code === PORT_IN_USE_EXIT_CODE;
          reject(new NodeStartError(`${this.name} exited (${signal ?? `code ${code}`}) before listening${this.tail()}`, portInUse));
        } else if (wasRunning && signal !== 'SIGKILL') {
          this.onLog(`[${this.name}] exited on its own (${signal ?? `code ${code}`})`);
        }
      });
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** For process exit handlers, which cannot wait. */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  hang(): void {
    this.requireAlive('hang').kill('SIGSTOP');
    this.current = 'hung';
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
