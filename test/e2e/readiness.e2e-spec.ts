// Readiness (@nestjs/terminus) at /health/ready: config, the session store answering, and at least
// one media node up, each node in the body; 503 with the failing check and why. /health stays liveness.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import type { SessionPlacement } from '../../src/sessions/store/session-store';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';

class FlakyStore extends MemorySessionStore {
  failing?: Error;
  async placement(sessionId: string): Promise<SessionPlacement | undefined> {
    if (this.failing) throw this.failing;
    return super.placement(sessionId);
  }
}

interface Readiness {
  status: string;
  error?: Record<string, { status: string; message?: string }>;
  details: {
    config: { status: string };
    store: { status: string; message?: string };
    media: { status: string; up: number; nodes: Array<{ url: string; status: string; reason: string }> };
  };
}

describe('readiness: /health/ready', () => {
  let stack: InProcessApp;
  const store = new FlakyStore();
  const ready = async () => {
    const res = await fetch(`${stack.url}/health/ready`);
    return { status: res.status, body: (await res.json()) as Readiness };
  };
  const until = async (what: (r: Awaited<ReturnType<typeof ready>>) => boolean) => {
    const deadline = Date.now() + 5_000;
    let last = await ready();
    while (!what(last) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      last = await ready();
    }
    return last;
  };

  beforeAll(async () => {
    stack = await startInProcessApp({ store });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('200 when the store answers and a node is up, every node listed', async () => {
    const { status, body } = await until((r) => r.status === 200);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect([body.details.config.status, body.details.store.status, body.details.media.status]).toEqual([
      'up',
      'up',
      'up',
    ]);
    expect(body.details.media.nodes.map((n) => [n.url, n.status])).toEqual(stack.nodes.urls.map((url) => [url, 'up']));
  });

  it('503 with every node down, saying so and why for each; /health (liveness) stays 200', async () => {
    for (const url of stack.nodes.urls) stack.nodes.state.set(url, 'refused');
    try {
      const { status, body } = await until((r) => r.status === 503);
      expect(status).toBe(503);
      expect(body.error?.media?.message).toBe('no media node is up');
      expect(body.details.media.nodes.every((n) => n.status === 'down' && /refused/.test(n.reason))).toBe(true);
      expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    } finally {
      for (const url of stack.nodes.urls) stack.nodes.state.set(url, 'up');
    }
    expect((await until((r) => r.status === 200)).status).toBe(200);
  });

  it('503 while the store fails, with its error', async () => {
    store.failing = new Error('the session store (Redis) is unavailable, try again shortly');
    try {
      const { status, body } = await ready();
      expect(status).toBe(503);
      expect(body.details.store).toEqual({
        status: 'down',
        message: 'the session store (Redis) is unavailable, try again shortly',
      });
      expect(body.details.media.status).toBe('up');
    } finally {
      store.failing = undefined;
    }
    expect((await ready()).status).toBe(200);
  });
});
