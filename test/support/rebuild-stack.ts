// A backend (real process) over N fake media nodes (real processes), torn down by pid.
import { randomBytes } from 'node:crypto';
import { startApp, StartedApp } from './app';
import { spawnFakeNode, FakeNodeProcess } from './fake-node-process';
import type { ConnectedParticipant } from './session-client';

export interface RebuildStack {
  apiKey: string;
  apiSecret: string;
  nodes: FakeNodeProcess[];
  app: StartedApp;
  /** Sockets opened through `track` are closed on teardown. */
  track(participant: ConnectedParticipant): ConnectedParticipant;
  /** Starts a fake node again on a dead node's port (same URL). */
  restartNode(index: number): Promise<FakeNodeProcess>;
  close(): Promise<void>;
}

export async function startRebuildStack(nodeCount = 2, appEnv: NodeJS.ProcessEnv = {}): Promise<RebuildStack> {
  const apiKey = 'test-key';
  const apiSecret = randomBytes(24).toString('base64url');
  const nodes: FakeNodeProcess[] = [];
  const sockets: ConnectedParticipant[] = [];
  let app: StartedApp | undefined;
  const close = async () => {
    for (const s of sockets) s.close();
    await app?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < nodeCount; i++) nodes.push(await spawnFakeNode(apiKey, apiSecret));
    app = await startApp({ urls: nodes.map((n) => n.url), apiKey, secret: apiSecret, env: appEnv });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    apiKey,
    apiSecret,
    nodes,
    app,
    track: (participant) => {
      sockets.push(participant);
      return participant;
    },
    restartNode: async (index) => {
      const node = await spawnFakeNode(apiKey, apiSecret, nodes[index].port);
      nodes.push(node);
      return node;
    },
    close,
  };
}
