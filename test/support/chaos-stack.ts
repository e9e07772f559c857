// The chaos run's set-up: the scale-out layout with Redis through Sentinel and every media node on a
// machine of its own. Redis: one primary, one replica, three sentinels (src/local-stack/redis-sentinel);
// three dev-engine nodes in network namespaces (netns-cluster.ts); two backend instances from dist over
// Sentinel; nginx (sticky, as `npm run cluster`) in front, also taking the nodes' webhooks; optionally
// Chromium. Everything it starts is stopped by pid in stop(), namespaces and nftables tables removed,
// also after a failed start.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as NginxApi from '../../src/media-cluster/nginx';
import type * as RedisSentinelApi from '../../src/local-stack/redis-sentinel';
import type { NodeSummary, SessionSummary } from '../../src/contracts';
import { freePort } from '../../src/shared/ports';
import { startApp, type StartedApp } from './app';
import { built } from './built';
import { launchChromium, type LaunchedBrowser } from './chromium';
import { clientDist } from './client-dist';
import { startNetnsMediaCluster, type NetnsMediaCluster } from './netns-cluster';
import { sleep } from './participant-page';
import { OPERATOR_HEADERS } from './session-client';

/* eslint-disable @typescript-eslint/no-require-imports -- the compiled build (dist/), as the other stacks load it */
const { startNginx } = require(built('src/media-cluster/nginx')) as typeof NginxApi;
const { startRedisSentinel } = require(built('src/local-stack/redis-sentinel')) as typeof RedisSentinelApi;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Sentinel's down-after-milliseconds: the 1 s. */
const SENTINEL_DOWN_AFTER_MS = 1_000;
/** A store read while Redis fails over (or an instance restarts) is retried for this long. */
const STORE_READ_TIMEOUT_MS = 20_000;
/** A healed node, restarted instance or Redis server is back within this, or the run fails. */
export const HEAL_TIMEOUT_MS = 20_000;

/** One backend instance, restartable on its port after a SIGKILL. */
export class ChaosInstance {
  private app: StartedApp | undefined;
  /** What the killed incarnations printed. */
  private earlier = '';

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly start: () => Promise<StartedApp>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  pid(): number | undefined {
    return this.app?.pid;
  }

  async launch(): Promise<void> {
    this.app = await this.start();
  }

  /** SIGKILL, as a crash would; resolves once it is gone. */
  async kill(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (!app) return;
    this.earlier += `${app.output()}\n--- ${this.name} SIGKILLed at ${new Date().toISOString()} ---\n`;
    try {
      process.kill(app.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await app.stop();
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    await app?.stop();
  }

  /** Everything every incarnation printed. */
  output(): string {
    return this.earlier + (this.app?.output() ?? '');
  }
}

export interface ChaosStack {
  /** nginx: the one URL participants use. */
  url: string;
  cluster: NetnsMediaCluster;
  redis: RedisSentinelApi.RedisSentinelTopology;
  instances: ChaosInstance[];
  chromium?: LaunchedBrowser;
  /** GET /api/sessions through nginx, retried while Redis fails over or an instance restarts. */
  sessions(): Promise<SessionSummary[]>;
  /** Resolves once every instance sees every node up. */
  nodesUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ChaosStackOptions {
  nodes?: number;
  instances?: number;
  chromium?: boolean;
  /** Every line the nodes print (noisy); the instances' output is kept by each instance. */
  onNodeLog?: (line: string) => void;
}

/** VmRSS of `pid` in kB, from /proc (undefined when it is gone). */
export function rssKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function startChaosStack(options: ChaosStackOptions = {}): Promise<ChaosStack> {
  const apiKey = 'APIchaos';
  const apiSecret = randomBytes(24).toString('base64url');
  const dir = mkdtempSync(join(tmpdir(), 'chaos-nginx-'));
  const nginxPort = await freePort();
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    const errors: string[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(`chaos stack: could not stop everything: ${errors.join('; ')}`);
  };
  try {
    const redis = await startRedisSentinel({ downAfterMs: SENTINEL_DOWN_AFTER_MS });
    cleanups.push(() => redis.stop());
    // The nodes post their webhooks to nginx's port on the host (DNAT from each machine's link).
    const cluster = await startNetnsMediaCluster('dev', {
      nodes: options.nodes ?? 3,
      apiKey,
      apiSecret,
      webhookPort: nginxPort,
      onLog: options.onNodeLog,
    });
    cleanups.push(() => cluster.stop());
    const instances: ChaosInstance[] = [];
    cleanups.push(() => Promise.all(instances.map((i) => i.stop())).then(() => undefined));
    for (let i = 0; i < (options.instances ?? 2); i++) {
      const port = await freePort();
      const instance = new ChaosInstance(`instance-${i + 1}`, port, () =>
        startApp({
          urls: cluster.nodes().map((n) => n.url),
          apiKey,
          secret: apiSecret,
          port,
          args: ['--redis-sentinel', redis.sentinels.join(','), '--redis-name', redis.name],
          env: { CLIENT_DIST: clientDist() },
        }),
      );
      instances.push(instance);
      await instance.launch();
    }
    const nginx = await startNginx({
      dir,
      port: nginxPort,
      upstreams: instances.map((i) => `127.0.0.1:${i.port}`),
      sticky: true,
      failTimeoutSec: 5,
    });
    cleanups.push(() => nginx.stop());
    const url = `http://127.0.0.1:${nginxPort}`;
    let chromium: LaunchedBrowser | undefined;
    if (options.chromium) {
      chromium = await launchChromium();
      const launched = chromium;
      cleanups.push(() => launched.close());
    }
    const nodeCount = cluster.nodes().length;
    const stack: ChaosStack = {
      url,
      cluster,
      redis,
      instances,
      chromium,
      async sessions() {
        const deadline = Date.now() + STORE_READ_TIMEOUT_MS;
        let last: string;
        for (;;) {
          try {
            const res = await fetch(`${url}/api/sessions`, {
              headers: OPERATOR_HEADERS,
              signal: AbortSignal.timeout(5_000),
            });
            if (res.ok) return (await res.json()) as SessionSummary[];
            last = `${res.status} ${await res.text()}`;
          } catch (error) {
            last = (error as Error).message;
          }
          if (Date.now() > deadline)
            throw new Error(`GET /api/sessions did not answer 200 within ${STORE_READ_TIMEOUT_MS} ms: ${last}`);
          await sleep(200);
        }
      },
      async nodesUp(timeoutMs = HEAL_TIMEOUT_MS) {
        const deadline = Date.now() + timeoutMs;
        let views: unknown[];
        for (;;) {
          views = await Promise.all(
            instances.map(async (i) => {
              const res = await fetch(`${i.url}/api/nodes`, {
                headers: OPERATOR_HEADERS,
                signal: AbortSignal.timeout(2_000),
              }).catch(() => undefined);
              return res?.ok ? ((await res.json()) as NodeSummary[]) : [];
            }),
          );
          const up = (view: unknown) =>
            Array.isArray(view) && view.length === nodeCount && (view as NodeSummary[]).every((n) => n.status === 'up');
          if (views.every(up)) return;
          if (Date.now() > deadline)
            throw new Error(`not every instance sees every node up within ${timeoutMs} ms: ${JSON.stringify(views)}`);
          await sleep(100);
        }
      },
      stop,
    };
    await stack.nodesUp();
    return stack;
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
