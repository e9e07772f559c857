// SIGTERM: the instance stops taking requests (503 with a clear message), lets the rebuild in flight
// finish and push its move, closes every socket so clients reconnect (elsewhere, behind a load
// balancer), and exits by itself within its bound.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApp, type StartedApp } from '../support/app';
import { spawnFakeNode, type FakeNodeProcess } from '../support/fake-node-process';
import { api, connect, join } from '../support/session-client';

const API_KEY = 'drain-key';
const API_SECRET = 'drain-secret-of-a-reasonable-length';
/** The rebuild is held this long (the rebuild service's test hook), so SIGTERM lands in the middle of it. */
const REBUILD_PAUSE_MS = 1_500;
/** main.ts's SHUTDOWN_BOUND_MS. */
const SHUTDOWN_BOUND_MS = 10_000;

describe('graceful shutdown on SIGTERM', () => {
  const nodes: FakeNodeProcess[] = [];
  let app: StartedApp;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) nodes.push(await spawnFakeNode(API_KEY, API_SECRET));
    app = await startApp({
      urls: nodes.map((n) => n.url),
      apiKey: API_KEY,
      secret: API_SECRET,
      env: { SESSION_REBUILDER_TEST_REBUILD_PAUSE_MS: String(REBUILD_PAUSE_MS) },
    });
  });

  afterAll(async () => {
    await app?.stop();
    for (const node of nodes) await node.stop();
  });

  it('answers 503 while draining, finishes the rebuild in flight, closes sockets so they reconnect, and exits in time', async () => {
    const joined = await join(app.url, 'draining', 'Dee');
    const participant = await connect(app.url, joined);
    const disconnected = new Promise<string>((resolve) =>
      participant.socket.once('disconnect', (reason) => resolve(reason)),
    );
    nodes.find((n) => n.url === joined.url)!.kill();
    await waitUntil(() => app.output().includes('session draining: rebuild paused'), 10_000);

    const exited = new Promise<number>((resolve) => {
      const timer = setInterval(() => {
        try {
          process.kill(app.pid, 0);
        } catch {
          clearInterval(timer);
          resolve(Date.now());
        }
      }, 20);
    });
    const termAt = Date.now();
    process.kill(app.pid, 'SIGTERM');
    await waitUntil(() => app.output().includes('draining: new requests answer 503'), 5_000);

    const refused = await api<{ message: string }>(app.url, 'POST', '/api/sessions/another/participants', {
      name: 'Late',
    });
    expect(refused.status).toBe(503);
    expect(refused.body.message).toMatch(/shutting down/);
    expect((await fetch(`${app.url}/health`)).status).toBe(503);

    // The rebuild that was in flight completes and its move reaches the client before the socket closes.
    const moved = await participant.nextRejoin(2, 10_000);
    expect(moved.url).not.toBe(joined.url);
    // Closed at the transport: a reason socket.io clients reconnect after (a server disconnect would not).
    expect(await disconnected).toBe('transport close');
    const exitedAt = await exited;
    expect(exitedAt - termAt).toBeLessThan(SHUTDOWN_BOUND_MS);
    expect(app.output()).toMatch(/drained in \d+ ms: 1 socket\(s\) closed, 0 rebuild\(s\) left unfinished/);
    participant.close();
  });
});

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
