// A backend (real process) over N media nodes (real processes), torn down by pid: fake nodes (GET / and
// Twirp only, the lightest), either engine's independent nodes (the dev cluster, the real LiveKit
// server), or LiveKit's own cluster (the backend in cluster mode over its one URL and its registry).
import { randomBytes } from 'node:crypto';
import { freePort } from '../../src/shared/ports';
import { startApp, StartedApp } from './app';
import { startMediaCluster, type MediaCluster, type Topology } from './engines';
import { spawnFakeNode, FakeNodeProcess } from './fake-node-process';
import { startLiveKitClusterTopology, type LiveKitClusterTopology } from './livekit-cluster-topology';
import { must } from './must';
import type { ConnectedParticipant } from './session-client';

/** One media node as a spec drives it. */
export interface StackNode {
  /** `node-1`, ... (fake nodes: their URL). */
  name: string;
  /** Its own URL: where clients go with independent nodes; in LiveKit's cluster, where the backend probes it. */
  url: string;
  kill(): Promise<void>;
  hang(): Promise<void>;
  resume(): Promise<void>;
}

export interface RebuildStack {
  topology: Topology | 'fake';
  apiKey: string;
  apiSecret: string;
  nodes: StackNode[];
  app: StartedApp;
  /** LiveKit's own cluster only: its one URL, its registry and room map. */
  livekitCluster?: LiveKitClusterTopology;
  /**
   * The node holding a session's room now: the one at the session's URL (independent nodes), or the
   * member LiveKit's `room_node_map` names (its cluster, where every session has the one URL).
   */
  hostOf(sessionId: string, sessionUrl: string): Promise<StackNode>;
  /** Sockets opened through `track` are closed on teardown. */
  track: (participant: ConnectedParticipant) => ConnectedParticipant;
  /** Starts a dead node again on the same URL. */
  restartNode(index: number): Promise<void>;
  close(): Promise<void>;
}

interface NodeSet {
  nodes: StackNode[];
  livekitCluster?: LiveKitClusterTopology;
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

async function fakeNodes(count: number, apiKey: string, apiSecret: string): Promise<NodeSet> {
  /** Every process ever started, for teardown; `current[i]` is node i now. */
  const spawned: FakeNodeProcess[] = [];
  const current: FakeNodeProcess[] = [];
  const spawn = async (port?: number) => {
    const node = await spawnFakeNode(apiKey, apiSecret, port);
    spawned.push(node);
    return node;
  };
  const set: NodeSet = {
    nodes: [],
    restart: async (index) => {
      current[index] = await spawn(current[index]!.port);
    },
    stop: async () => {
      await Promise.all(spawned.map((n) => n.stop()));
    },
  };
  try {
    for (let i = 0; i < count; i++) current.push(await spawn());
  } catch (error) {
    await set.stop();
    throw error;
  }
  set.nodes = current.map((first, i) => ({
    name: first.url,
    url: first.url,
    kill: async () => current[i]!.kill(),
    hang: async () => current[i]!.hang(),
    resume: async () => current[i]!.resume(),
  }));
  return set;
}

function clusterNodes(cluster: MediaCluster): NodeSet {
  return {
    nodes: cluster.nodes().map(({ name, url }) => ({
      name,
      url,
      kill: () => cluster.kill(name),
      hang: () => cluster.hang(name),
      resume: () => cluster.resume(name),
    })),
    restart: (index) => cluster.restart(cluster.nodes()[index]!.name),
    stop: () => cluster.stop(),
  };
}

async function livekitClusterMembers(
  count: number,
  apiKey: string,
  apiSecret: string,
  webhookUrl: string,
): Promise<NodeSet> {
  const livekitCluster = await startLiveKitClusterTopology({ nodes: count, apiKey, apiSecret, webhookUrl });
  return { ...clusterNodes(livekitCluster.cluster), livekitCluster, stop: () => livekitCluster.stop() };
}

/**
 * `engine`: fake nodes (default), either engine's independent nodes, or LiveKit's own cluster of
 * `nodeCount` members, whose webhooks go to the backend.
 */
export async function startRebuildStack(
  nodeCount = 2,
  options: { engine?: Topology | 'fake'; appEnv?: NodeJS.ProcessEnv } = {},
): Promise<RebuildStack> {
  const apiKey = 'test-key';
  const apiSecret = randomBytes(24).toString('base64url');
  const engine = options.engine ?? 'fake';
  // The cluster's nodes are told where the backend's webhooks go before it starts.
  const appPort = engine === 'livekit-cluster' ? await freePort() : 0;
  const set =
    engine === 'fake'
      ? await fakeNodes(nodeCount, apiKey, apiSecret)
      : engine === 'livekit-cluster'
        ? await livekitClusterMembers(nodeCount, apiKey, apiSecret, `http://127.0.0.1:${appPort}/webhooks/livekit`)
        : clusterNodes(await startMediaCluster(engine, { nodes: nodeCount, apiKey, apiSecret }));
  const sockets: ConnectedParticipant[] = [];
  let app: StartedApp | undefined;
  const close = async () => {
    for (const s of sockets) s.close();
    await app?.stop();
    await set.stop();
  };
  try {
    const target = set.livekitCluster?.appArgs() ?? { urls: set.nodes.map((n) => n.url), args: [] };
    app = await startApp({
      ...target,
      apiKey,
      secret: apiSecret,
      port: appPort,
      env: options.appEnv ?? {},
    });
  } catch (error) {
    await close();
    throw error;
  }
  const livekitCluster = set.livekitCluster;
  return {
    topology: engine,
    apiKey,
    apiSecret,
    nodes: set.nodes,
    app,
    livekitCluster,
    hostOf: async (sessionId, sessionUrl) => {
      const url = livekitCluster ? (await livekitCluster.roomMember(sessionId)).url : sessionUrl;
      return must(
        set.nodes.find((node) => node.url === url),
        `a node at ${url}`,
      );
    },
    track: (participant) => {
      sockets.push(participant);
      return participant;
    },
    restartNode: (index) => set.restart(index),
    close,
  };
}
