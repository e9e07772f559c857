import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { startApp, StartedApp } from '../support/app';
import { ENGINE_NAMES, ENGINES, type MediaEngine } from '../support/engines';
import { api, connect, join, OPERATOR_HEADERS, operatorApi } from '../support/session-client';

// `npm start` with no --url: the embedded nodes, ours (--media dev) or the real LiveKit server (--media livekit).
describe.each(ENGINES.map((engine) => [ENGINE_NAMES[engine], engine] as [string, MediaEngine]))(
  'with the embedded cluster (no --url): %s',
  (_name, engine) => {
    let app: StartedApp;

    beforeAll(async () => {
      app = await startApp({ args: ['--dev-base-port', '0', '--media', engine], startTimeoutMs: 40_000 });
    });
    afterAll(async () => {
      await app?.stop();
    });

    it('reports the embedded cluster in /api/info and prints node URLs', async () => {
      const info = await operatorApi<{
        devCluster: boolean;
        nodes: Array<{ url: string; status: string; pid: number }>;
      }>(app.url, '/api/info');
      assert.equal(info.body.devCluster, true);
      assert.equal(info.body.nodes.length, 2);
      for (const node of info.body.nodes) {
        assert.equal(node.status, 'up');
        assert.ok(app.output().includes(node.url), `${node.url} printed on start`);
        assert.match(
          app.output(),
          new RegExp(`${engine === 'livekit' ? 'livekit-server' : 'dev cluster'} node-\\d ${node.url} \\(pid \\d+\\)`),
        );
      }
    });

    it('crash-node SIGKILLs the session node and every participant is pushed to the other node', async () => {
      const ann = await join(app.url, 'dev-demo', 'Ann');
      const bob = await join(app.url, 'dev-demo', 'Bob');
      const sockets = await Promise.all([connect(app.url, ann), connect(app.url, bob)]);
      try {
        const crash = await api<{ killed: string; url: string }>(
          app.url,
          'POST',
          '/api/dev/sessions/dev-demo/crash-node',
          undefined,
          OPERATOR_HEADERS,
        );
        assert.equal(crash.status, 200, JSON.stringify(crash.body));
        assert.equal(crash.body.url, ann.url);
        for (const socket of sockets) {
          const rejoin = await socket.nextRejoin(2, 5000);
          assert.notEqual(rejoin.url, ann.url);
          assert.equal(rejoin.reason, 'node-down');
        }
        const again = await api(app.url, 'POST', '/api/sessions/dev-demo/participants', { name: 'Cid' });
        assert.equal(again.status, 201);
      } finally {
        for (const socket of sockets) socket.close();
      }
    });
  },
);
