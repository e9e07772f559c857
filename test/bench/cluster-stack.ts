// bench:failover on LiveKit's own cluster: two livekit-server members sharing a Redis, each on its own
// 127.0.0.x behind one nginx URL (the media-cluster wing's cluster topology), our backend in cluster
// mode over it (one --url, the cluster's, and --livekit-redis), and Chromium. The node to kill is the
// member LiveKit's room_node_map names for the session's room: the session's URL is the cluster's.
import { randomBytes } from 'node:crypto';
import { freePort } from '../../src/shared/ports';
import { startApp, type StartedApp } from '../support/app';
import { launchChromium, type LaunchedBrowser } from '../support/chromium';
import { clientDist } from '../support/client-dist';
import { startMediaCluster, type LiveKitCluster, type MediaNodeInfo } from '../support/engines';
import { sleep } from '../support/participant-page';
import { OPERATOR_HEADERS } from '../support/session-client';
import { RoomMap, waitUntilRegistered } from './livekit-peer';

/** A restarted member registers with LiveKit and is probed up by the backend within this. */
const MEMBER_UP_TIMEOUT_MS = 15_000;

export interface ClusterFailoverStack {
  cluster: LiveKitCluster;
  app: StartedApp;
  chromium: LaunchedBrowser;
  /** The member holding a session's room now (LiveKit's room_node_map; a session's id is its room's name). */
  roomMember(sessionId: string): Promise<MediaNodeInfo>;
  /** Restarts dead members, resumes hung ones, and waits until LiveKit lists each and the backend sees it up. */
  healAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function startClusterFailoverStack(
  members: number,
  options: { verbose?: boolean } = {},
): Promise<ClusterFailoverStack> {
  const apiKey = 'APIcluster';
  const apiSecret = randomBytes(24).toString('base64url');
  const appPort = await freePort();
  const cluster = await startMediaCluster('livekit', {
    topology: 'cluster',
    nodes: members,
    apiKey,
    apiSecret,
    webhookUrl: `http://127.0.0.1:${appPort}/webhooks/livekit`,
    onLog: options.verbose ? (line) => console.log(line) : undefined,
  });
  let app: StartedApp | undefined;
  let chromium: LaunchedBrowser | undefined;
  try {
    app = await startApp({
      urls: [cluster.clusterUrl],
      apiKey,
      secret: apiSecret,
      port: appPort,
      args: ['--livekit-redis', cluster.livekitRedisUrl, '--node-port', String(cluster.nodes()[0]!.port)],
      env: { CLIENT_DIST: clientDist() },
    });
    chromium = await launchChromium();
  } catch (error) {
    await app?.stop();
    await cluster.stop();
    throw error;
  }
  const started = { app, chromium };
  const rooms = new RoomMap(cluster);
  const membersUp = async () => {
    const response = await fetch(`${started.app.url}/api/nodes`, {
      headers: OPERATOR_HEADERS,
      signal: AbortSignal.timeout(2_000),
    });
    const nodes = (await response.json()) as Array<{ url: string; status: string }>;
    return cluster.nodes().every((member) => nodes.some((n) => n.url === member.url && n.status === 'up'));
  };
  const stack: ClusterFailoverStack = {
    cluster,
    app,
    chromium,
    roomMember: (sessionId) => rooms.member(sessionId),
    async healAll() {
      for (const member of cluster.nodes()) {
        if (member.state === 'dead') await cluster.restart(member.name);
        if (member.state === 'hung') await cluster.resume(member.name);
      }
      const deadline = Date.now() + MEMBER_UP_TIMEOUT_MS;
      await waitUntilRegistered(cluster, MEMBER_UP_TIMEOUT_MS);
      while (!(await membersUp().catch(() => false))) {
        if (Date.now() > deadline)
          throw new Error(`the backend does not see every member up after ${MEMBER_UP_TIMEOUT_MS} ms`);
        await sleep(100);
      }
    },
    async stop() {
      rooms.close();
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
