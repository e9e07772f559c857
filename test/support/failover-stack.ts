import { randomBytes } from 'node:crypto';
import { startMediaCluster, type MediaCluster, type MediaEngine, type MediaNodeInfo } from './engines';
import { startApp, type StartedApp } from './app';
import { OPERATOR_HEADERS } from './session-client';
import { freePort } from '../../src/shared/ports';
import { clientDist } from './client-dist';
import { launchChromium, type LaunchedBrowser } from './chromium';
import { sleep } from './participant-page';

/** A restarted or resumed node is probed up again by the backend within this. */
const NODE_UP_TIMEOUT_MS = 10_000;

/** Media nodes (dev cluster or real LiveKit) + backend + Chromium, started together and stopped together (by pid), even after a failure. */
export interface FailoverStack {
  cluster: MediaCluster;
  app: StartedApp;
  chromium: LaunchedBrowser;
  node(url: string): MediaNodeInfo;
  /** Brings every node back (restart dead, resume hung) and waits until the backend sees them all up. */
  healAll(): Promise<void>;
  nodeStatus(): Promise<Array<{ url: string; status: string }>>;
  stop(): Promise<void>;
}

export async function startFailoverStack(
  nodes = 3,
  options: { verbose?: boolean; engine?: MediaEngine } = {},
): Promise<FailoverStack> {
  const apiKey = 'APIbrowser';
  const apiSecret = randomBytes(24).toString('base64url');
  const appPort = await freePort();
  const log = options.verbose ? (line: string) => console.log(line) : undefined;
  const cluster = await startMediaCluster(options.engine ?? 'dev', {
    nodes,
    apiKey,
    apiSecret,
    webhookUrl: `http://127.0.0.1:${appPort}/webhooks/livekit`,
    onLog: log,
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
  } catch (err) {
    await app?.stop();
    await cluster.stop();
    throw err;
  }
  const started = { app, chromium };
  const nodeStatus = async () => {
    const response = await fetch(`${started.app.url}/api/nodes`, {
      headers: OPERATOR_HEADERS,
      signal: AbortSignal.timeout(2_000),
    });
    return (await response.json()) as Array<{ url: string; status: string }>;
  };
  const stack: FailoverStack = {
    cluster,
    app,
    chromium,
    node(url) {
      const node = cluster.nodes().find((n) => n.url === url);
      if (!node) throw new Error(`no media node serves ${url}`);
      return node;
    },
    nodeStatus,
    async healAll() {
      for (const node of cluster.nodes()) {
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
      // Each part is stopped even when stopping an earlier one fails, so no process outlives the test.
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
  // The backend's first probes decide "up"; placing a session before that would pile it onto one node.
  try {
    await stack.healAll();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
