import { randomBytes } from 'node:crypto';
import { startMediaCluster, type MediaCluster, type MediaNodeInfo, type Topology } from './engines';
import { startLiveKitClusterTopology, type LiveKitClusterTopology } from './livekit-cluster-topology';
import { startApp, type StartedApp } from './app';
import { OPERATOR_HEADERS } from './session-client';
import { freePort } from '../../src/shared/ports';
import { clientDist } from './client-dist';
import { launchChromium, type LaunchedBrowser } from './chromium';
import { sleep } from './participant-page';

/** A restarted or resumed node is probed up again by the backend within this. */
const NODE_UP_TIMEOUT_MS = 10_000;

/**
 * Media nodes + backend + Chromium, started together and stopped together (by pid), even after a failure:
 * independent nodes of either engine, or LiveKit's own cluster (the backend in cluster mode).
 */
export interface FailoverStack {
  topology: Topology;
  cluster: MediaCluster;
  /** LiveKit's own cluster only: its one URL, its registry and room map. */
  livekitCluster?: LiveKitClusterTopology;
  app: StartedApp;
  chromium: LaunchedBrowser;
  node(url: string): MediaNodeInfo;
  /**
   * The node holding a session's room now: the one at the URL its participants are on (independent
   * nodes), or the member LiveKit's `room_node_map` names (its cluster, where that URL is the one URL).
   */
  hostOf(sessionId: string, sessionUrl: string): Promise<MediaNodeInfo>;
  /**
   * Brings every node back (restart dead, resume hung) and waits until the backend sees them all up (and,
   * in LiveKit's cluster, until LiveKit lists every member in its registry again).
   */
  healAll(): Promise<void>;
  nodeStatus(): Promise<Array<{ url: string; status: string }>>;
  stop(): Promise<void>;
}

export async function startFailoverStack(
  nodes = 3,
  options: { verbose?: boolean; engine?: Topology } = {},
): Promise<FailoverStack> {
  const apiKey = 'APIbrowser';
  const apiSecret = randomBytes(24).toString('base64url');
  const appPort = await freePort();
  const log = options.verbose ? (line: string) => console.log(line) : undefined;
  const topology = options.engine ?? 'dev';
  const media = { nodes, apiKey, apiSecret, webhookUrl: `http://127.0.0.1:${appPort}/webhooks/livekit`, onLog: log };
  let livekitCluster: LiveKitClusterTopology | undefined;
  let cluster: MediaCluster;
  if (topology === 'livekit-cluster') {
    livekitCluster = await startLiveKitClusterTopology(media);
    cluster = livekitCluster.cluster;
  } else cluster = await startMediaCluster(topology, media);
  const stopMedia = () => (livekitCluster ? livekitCluster.stop() : cluster.stop());
  let app: StartedApp | undefined;
  let chromium: LaunchedBrowser | undefined;
  try {
    app = await startApp({
      ...(livekitCluster?.appArgs() ?? { urls: cluster.nodes().map((n) => n.url) }),
      apiKey,
      secret: apiSecret,
      port: appPort,
      env: { CLIENT_DIST: clientDist() },
    });
    chromium = await launchChromium();
  } catch (err) {
    await app?.stop();
    await stopMedia();
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
  const node = (url: string) => {
    const found = cluster.nodes().find((n) => n.url === url);
    if (!found) throw new Error(`no media node serves ${url}`);
    return found;
  };
  const stack: FailoverStack = {
    topology,
    cluster,
    livekitCluster,
    app,
    chromium,
    node,
    hostOf: async (sessionId, sessionUrl) => (livekitCluster ? livekitCluster.roomMember(sessionId) : node(sessionUrl)),
    nodeStatus,
    async healAll() {
      for (const node of cluster.nodes()) {
        if (node.state === 'dead') await cluster.restart(node.name);
        if (node.state === 'hung') await cluster.resume(node.name);
      }
      const deadline = Date.now() + NODE_UP_TIMEOUT_MS;
      await livekitCluster?.waitUntilRegistered(NODE_UP_TIMEOUT_MS);
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
          await stopMedia();
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
