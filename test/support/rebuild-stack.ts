// A backend (real process) over N media nodes (real processes), torn down by pid: fake nodes (GET / and
// Twirp only, the lightest) or either engine (the dev cluster, the real LiveKit server).
import { randomBytes } from 'node:crypto';
import { startApp, StartedApp } from './app';
import { startMediaCluster, type MediaCluster, type MediaEngine } from './engines';
import { spawnFakeNode, FakeNodeProcess } from './fake-node-process';
import type { ConnectedParticipant } from './session-client';

/** One media node as a spec drives it. */
export interface StackNode {
  url: string;
  kill(): Promise<void>;
  hang(): Promise<void>;
  resume(): Promise<void>;
}

export interface RebuildStack {
  apiKey: string;
  apiSecret: string;
  nodes: StackNode[];
  app: StartedApp;
  /** Sockets opened through `track` are closed on teardown. */
  track: (participant: ConnectedParticipant) => ConnectedParticipant;
  /** Starts a dead node again on the same URL. */
  restartNode(index: number): Promise<void>;
  close(): Promise<void>;
}

interface NodeSet {
  nodes: StackNode[];
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
      url,
      kill: () => cluster.kill(name),
      hang: () => cluster.hang(name),
      resume: () => cluster.resume(name),
    })),
    restart: (index) => cluster.restart(cluster.nodes()[index]!.name),
    stop: () => cluster.stop(),
  };
}

export async function startRebuildStack(
  nodeCount = 2,
  options: { engine?: MediaEngine | 'fake'; appEnv?: NodeJS.ProcessEnv } = {},
): Promise<RebuildStack> {
  const apiKey = 'test-key';
  const apiSecret = randomBytes(24).toString('base64url');
  const engine = options.engine ?? 'fake';
  const set =
    engine === 'fake'
      ? await fakeNodes(nodeCount, apiKey, apiSecret)
      : clusterNodes(await startMediaCluster(engine, { nodes: nodeCount, apiKey, apiSecret }));
  const sockets: ConnectedParticipant[] = [];
  let app: StartedApp | undefined;
  const close = async () => {
    for (const s of sockets) s.close();
    await app?.stop();
    await set.stop();
  };
  try {
    app = await startApp({ urls: set.nodes.map((n) => n.url), apiKey, secret: apiSecret, env: options.appEnv ?? {} });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    apiKey,
    apiSecret,
    nodes: set.nodes,
    app,
    track: (participant) => {
      sockets.push(participant);
      return participant;
    },
    restartNode: (index) => set.restart(index),
    close,
  };
}
