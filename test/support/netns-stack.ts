// The failover stack with every media node on a machine of its own (netns-cluster.ts): nodes, the backend
// on 127.0.0.1 and Chromium on the host, started together and stopped together, even after a failure.
import { randomBytes } from 'node:crypto';
import { freePort } from '../../src/shared/ports';
import { startApp, type StartedApp } from './app';
import { launchChromium, type LaunchedBrowser } from './chromium';
import { clientDist } from './client-dist';
import type { MediaEngine, MediaNodeInfo } from './engines';
import { startNetnsMediaCluster, type NetnsFault, type NetnsMediaCluster } from './netns-cluster';
import { sleep } from './participant-page';
import { OPERATOR_HEADERS } from './session-client';

/** A restarted, resumed or healed node is probed up again by the backend within this. */
const NODE_UP_TIMEOUT_MS = 10_000;

export interface NetnsStack {
  engine: MediaEngine;
  cluster: NetnsMediaCluster;
  app: StartedApp;
  chromium: LaunchedBrowser;
  node(url: string): MediaNodeInfo;
  nodeStatus(): Promise<Array<{ url: string; status: string; failingForClients?: { reason: string } }>>;
  /** Heals every machine, restarts dead nodes, resumes hung ones, and waits until the backend sees them all up. */
  healAll(): Promise<void>;
  stop(): Promise<void>;
}

export type { NetnsFault };

export async function startNetnsStack(
  engine: MediaEngine,
  nodes = 2,
  options: { verbose?: boolean } = {},
): Promise<NetnsStack> {
  const apiKey = 'APInetns';
  const apiSecret = randomBytes(24).toString('base64url');
  const appPort = await freePort();
  const cluster = await startNetnsMediaCluster(engine, {
    nodes,
    apiKey,
    apiSecret,
    webhookPort: appPort,
    onLog: options.verbose ? (line) => console.log(line) : undefined,
  });
  let app: StartedApp | undefined;
  let chromium: LaunchedBrowser | undefined;
  try {
    app = await startApp({
      urls: cluster.nodes().map((n) => n.url),
      apiKey,
      secret: apiSecret,
      port: appPort,
      env: { CLIENT_DIST: clientDist() },
    });
    chromium = await launchChromium();
  } catch (error) {
    await app?.stop();
    await cluster.stop();
    throw error;
  }
  const started = { app, chromium };
  const nodeStatus: NetnsStack['nodeStatus'] = async () => {
    const response = await fetch(`${started.app.url}/api/nodes`, {
      headers: OPERATOR_HEADERS,
      signal: AbortSignal.timeout(2_000),
    });
    return (await response.json()) as Awaited<ReturnType<NetnsStack['nodeStatus']>>;
  };
  const stack: NetnsStack = {
    engine,
    cluster,
    app,
    chromium,
    node(url) {
      const found = cluster.nodes().find((n) => n.url === url);
      if (!found) throw new Error(`no media node serves ${url}`);
      return found;
    },
    nodeStatus,
    async healAll() {
      for (const node of cluster.nodes()) {
        cluster.heal(node.name);
        if (node.state === 'dead') await cluster.restart(node.name);
        if (node.state === 'hung') await cluster.resume(node.name);
      }
      const deadline = Date.now() + NODE_UP_TIMEOUT_MS;
      for (;;) {
        const statuses = await nodeStatus().catch(() => []);
        if (statuses.length === nodes && statuses.every((s) => s.status === 'up')) return;
        if (Date.now() > deadline)
          throw new Error(`nodes not all up after ${NODE_UP_TIMEOUT_MS} ms: ${JSON.stringify(statuses)}`);
        await sleep(100);
      }
    },
    async stop() {
      try {
        await started.chromium.close();
      } finally {
        try {
          await started.app.stop();
        } finally {
          await cluster.stop();
        }
      }
    },
  };
  try {
    await stack.healAll();
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}
