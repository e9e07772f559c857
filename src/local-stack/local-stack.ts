import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_NODE_PORT,
  startMediaCluster,
  startNginx,
  startRedisProcess,
  type MediaCluster,
  type MediaEngine,
  type NginxProcess,
  type RedisProcess,
} from '../media-cluster';
import { LOCAL_STACK_ENV } from '../shared/local-stack-env';
import { findFreePortRange, freePort, isPortFree } from '../shared/ports';

export interface LocalStackOptions {
  instances: number;
  nodes: number;
  /** nginx's port, the one URL users open; 0 = a free port. */
  port: number;
  media: MediaEngine;
  /**
   * LiveKit's own multi-node cluster (media livekit only): the nodes share the stack's Redis with the
   * backend instances, nginx fronts them as one URL, and the instances run in cluster mode
   * (`--url <that URL> --livekit-redis <the Redis>`). Default: independent nodes, one --url each.
   */
  livekitCluster?: boolean;
  /** Every line the backend instances print, prefixed with the instance's name. */
  onLog?: (line: string) => void;
  /** More flags for every instance (a benchmark lifts the per-address limits: its bots share one address). */
  instanceArgs?: string[];
}

export interface BackendInstance {
  name: string;
  url: string;
  port: number;
  pid(): number | undefined;
  alive(): boolean;
  /** SIGKILL, as a crash would. */
  kill(): void;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

export interface LocalStack {
  /** nginx in front of every instance: http://127.0.0.1:PORT */
  url: string;
  instances: BackendInstance[];
  media: MediaCluster;
  redis: RedisProcess;
  nginx: NginxProcess;
  /** The media nodes' credentials (generated per stack), for tools that mint tokens of their own. */
  apiKey: string;
  apiSecret: string;
  stop(): Promise<void>;
}

const MAIN_JS = join(__dirname, '..', 'main.js');
const START_TIMEOUT_MS = 30_000;

/**
 * The production layout on one machine: Redis (append-only file on), N backend instances sharing it,
 * nginx in front of them (HTTP and WebSocket), and the media nodes (either engine, or LiveKit's own
 * cluster sharing the same Redis) whose webhooks go to nginx. Every process on loopback, stopped by pid.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dir = mkdtempSync(join(tmpdir(), 'session-rebuilder-stack-'));
  const apiKey = `local-${randomBytes(4).toString('hex')}`;
  const apiSecret = randomBytes(32).toString('base64url');
  if (options.livekitCluster && options.media !== 'livekit')
    throw new Error("LiveKit's own cluster runs on the livekit engine only (media: 'livekit')");
  const log = options.onLog ?? (() => undefined);
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = options.port === 0 ? await freePort() : options.port;
    if (!(await isPortFree(port))) throw new Error(`port ${port} is taken; pass --port with a free one (or 0)`);
    const redis = await startRedisProcess(dir, await freePort());
    cleanups.push(() => redis.stop());

    const mediaOptions = {
      nodes: options.nodes,
      apiKey,
      apiSecret,
      webhookUrl: `http://127.0.0.1:${port}/webhooks/livekit`,
    };
    const media = options.livekitCluster
      ? await startMediaCluster('livekit', { ...mediaOptions, topology: 'cluster', livekitRedisUrl: redis.url })
      : await startMediaCluster(options.media, mediaOptions);
    cleanups.push(() => media.stop());

    const mediaArgs =
      media.topology === 'cluster'
        ? [
            '--url',
            media.clusterUrl,
            '--livekit-redis',
            media.livekitRedisUrl,
            '--node-port',
            String(DEFAULT_NODE_PORT),
          ]
        : media.nodes().flatMap((node) => ['--url', node.url]);
    const base = await findFreePortRange(options.instances);
    const args = (instancePort: number) => [
      ...mediaArgs,
      '--api-key',
      apiKey,
      '--secret',
      apiSecret,
      '--redis',
      redis.url,
      '--port',
      String(instancePort),
      '--host',
      '127.0.0.1',
      // Dev mode: the operators' endpoints open without a token and the crash buttons on, as with the embedded cluster.
      '--dev',
      ...(options.instanceArgs ?? []),
    ];
    const instances = Array.from(
      { length: options.instances },
      (_, i) => new InstanceProcess(`instance-${i + 1}`, base + i, args(base + i), log),
    );
    cleanups.push(() => Promise.all(instances.map((instance) => instance.stop())).then(() => undefined));
    await Promise.all(instances.map((instance) => instance.start()));

    const nginx = await startNginx({
      dir,
      port,
      upstreams: instances.map((i) => `127.0.0.1:${i.port}`),
      sticky: true,
      failTimeoutSec: 5,
    });
    cleanups.push(() => nginx.stop());
    return { url: `http://127.0.0.1:${port}`, instances, media, redis, nginx, apiKey, apiSecret, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One backend instance: the compiled main.js, restartable on its port. */
class InstanceProcess implements BackendInstance {
  readonly url: string;
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly args: string[],
    private readonly log: (line: string) => void,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  pid(): number | undefined {
    return this.alive() ? this.child?.pid : undefined;
  }

  alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(): void {
    if (this.alive()) this.child!.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.alive()) throw new Error(`${this.name} is running (pid ${this.child!.pid}); kill it first`);
    await this.start();
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--enable-source-maps', MAIN_JS, ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [LOCAL_STACK_ENV]: '1' },
    });
    this.child = child;
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.log(`[${this.name}] ${line}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!this.alive())
        throw new Error(`${this.name} exited while starting (code ${child.exitCode ?? child.signalCode})`);
      try {
        if ((await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(500) })).ok) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline)
        throw new Error(`${this.name} did not answer ${this.url}/health within ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive()) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
