// The registry stays right under hostile ids, racing writers and webhooks that arrive late or twice.
// The backend runs in this process over scripted nodes (test/support/in-process-app.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiErrorBody, JoinResponse } from '../../src/contracts';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import type { SessionRecord } from '../../src/sessions/session.model';
import type { ParticipantView } from '../../src/sessions/store/session-store';
import { InProcessApp, startInProcessApp, TEST_API_KEY, TEST_API_SECRET } from '../support/in-process-app';
import { postWebhook, signWebhook, webhookBody, type WebhookInput } from '../support/livekit-webhook';
import { api, join, operatorApi, scrapeMetrics } from '../support/session-client';

/** Names that are Object.prototype members: as identities or session ids they must be plain data. */
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

/** A store whose next key check of one session runs a hook after answering: the window between the key check and the lock. */
class InterleavingStore extends MemorySessionStore {
  private hook?: { sessionId: string; run: () => Promise<void> };
  /** While set, every write fails as a lost database connection would. */
  failWrites?: Error;

  async save(session: SessionRecord): Promise<void> {
    if (this.failWrites) throw this.failWrites;
    return super.save(session);
  }

  /** A herd's batched write, failing as a whole as the store away would. */
  async saveMany(sessions: readonly SessionRecord[]): Promise<Array<Error | undefined>> {
    if (this.failWrites) throw this.failWrites;
    return super.saveMany(sessions);
  }

  /** While set, a node's rebuild cannot list its sessions: the window between node-down and the herd's move. */
  herdListGate?: Promise<void>;

  async sessionIdsOn(nodeUrl: string): Promise<string[]> {
    await this.herdListGate;
    return super.sessionIdsOn(nodeUrl);
  }

  /** The next key check of one session (participantView) runs `run` after answering. */
  afterNextView(sessionId: string, run: () => Promise<void>): void {
    this.hook = { sessionId, run };
  }

  async participantView(sessionId: string, identity: string): Promise<ParticipantView | undefined> {
    const view = await super.participantView(sessionId, identity);
    const hook = this.hook;
    if (hook?.sessionId === sessionId) {
      this.hook = undefined;
      await hook.run();
    }
    return view;
  }
}

type SessionsView = Array<{ sessionId: string; participants: Array<{ identity: string; state: string }> }>;

describe('rebuild correctness: ids, races, webhook order', () => {
  let stack: InProcessApp;
  const store = new InterleavingStore();

  beforeAll(async () => {
    stack = await startInProcessApp({ nodes: 2, store });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const stateOf = async (sessionId: string, identity: string): Promise<string | undefined> => {
    const sessions = (await operatorApi<SessionsView>(stack.url, '/api/sessions')).body;
    return sessions.find((s) => s.sessionId === sessionId)?.participants.find((p) => p.identity === identity)?.state;
  };
  const deliver = async (input: WebhookInput): Promise<{ status: number; outcome?: string }> => {
    const body = webhookBody(input);
    const res = await postWebhook(stack.url, body, await signWebhook(body, TEST_API_KEY, TEST_API_SECRET));
    const answer = (await res.json()) as { outcome?: string };
    return { status: res.status, outcome: answer.outcome };
  };

  it.each(PROTOTYPE_NAMES)(
    'identity %p in a rejoin or leave URL is an unknown participant (401), not a 500',
    async (name) => {
      await join(stack.url, 'p1', 'Ann');
      const path = `/api/sessions/p1/participants/${encodeURIComponent(name)}`;
      const rejoin = await api<ApiErrorBody>(stack.url, 'POST', `${path}/rejoin`, { rejoinKey: 'whatever' });
      const leave = await api<ApiErrorBody>(stack.url, 'DELETE', path, { rejoinKey: 'whatever' });
      expect([rejoin.status, leave.status]).toEqual([401, 401]);
      expect(rejoin.body.message).toBe('unknown participant or wrong rejoin key');
    },
  );

  it.each(PROTOTYPE_NAMES)('session id %p is a session like any other', async (name) => {
    const res = await api<JoinResponse>(stack.url, 'POST', `/api/sessions/${encodeURIComponent(name)}/participants`, {
      name: 'Bob',
    });
    // `__proto__` does not match the id pattern's rule? It does ([A-Za-z0-9_-]): it must work.
    expect(res.status).toBe(201);
    const again = await api(
      stack.url,
      'POST',
      `/api/sessions/${encodeURIComponent(name)}/participants/${res.body.identity}/rejoin`,
      {
        rejoinKey: res.body.rejoinKey,
      },
    );
    expect(again.status).toBe(200);
  });

  it('a leave racing another writer answers 404 when the participant is gone by the time it holds the lock, never 500', async () => {
    const ann = await join(stack.url, 'race-1', 'Ann');
    await join(stack.url, 'race-1', 'Bob');
    // After the leave authenticated, another writer (the sweep, a rebuild) removes Ann from the record.
    store.afterNextView('race-1', async () => {
      const session = (await store.get('race-1'))!;
      delete session.participants[ann.identity];
      await store.save(session);
    });
    const leave = await api<ApiErrorBody>(stack.url, 'DELETE', `/api/sessions/race-1/participants/${ann.identity}`, {
      rejoinKey: ann.rejoinKey,
    });
    expect(leave.status).toBe(404);
  });

  it('a late participant_joined does not bring back a participant whose leave was applied after it', async () => {
    const ann = await join(stack.url, 'order-1', 'Ann');
    const roomSid = stack.nodes.rooms.get(ann.url)!.get('order-1')!.sid;
    const t = Math.floor(Date.now() / 1000);
    const base = { room: 'order-1', roomSid, identity: ann.identity, participantSid: 'PA_first' } as const;
    expect((await deliver({ ...base, event: 'participant_joined', createdAt: t })).outcome).toBe('applied');
    expect((await deliver({ ...base, event: 'participant_left', createdAt: t + 1 })).outcome).toBe('applied');
    expect(await stateOf('order-1', ann.identity)).toBe('leaving');
    // The same connection's join, delivered late (a retry), and an older event of another connection.
    expect((await deliver({ ...base, event: 'participant_joined', createdAt: t + 1 })).outcome).toBe('ignored');
    expect(
      (await deliver({ ...base, event: 'participant_joined', participantSid: 'PA_older', createdAt: t - 5 })).outcome,
    ).toBe('ignored');
    expect(await stateOf('order-1', ann.identity)).toBe('leaving');
    // A new connection of the same identity, newer than the leave, is a real return.
    expect(
      (await deliver({ ...base, event: 'participant_joined', participantSid: 'PA_second', createdAt: t + 2 })).outcome,
    ).toBe('applied');
    expect(await stateOf('order-1', ann.identity)).toBe('joined');
    // The first connection's late goodbye says nothing about the second.
    expect(
      (await deliver({ ...base, event: 'participant_left', participantSid: 'PA_first', createdAt: t + 2 })).outcome,
    ).toBe('ignored');
    expect(await stateOf('order-1', ann.identity)).toBe('joined');
  });

  it('a repeated event id is applied once', async () => {
    const ann = await join(stack.url, 'order-2', 'Ann');
    const roomSid = stack.nodes.rooms.get(ann.url)!.get('order-2')!.sid;
    const t = Math.floor(Date.now() / 1000);
    const base = { room: 'order-2', roomSid, identity: ann.identity, participantSid: 'PA_a' } as const;
    await deliver({ ...base, event: 'participant_joined', createdAt: t });
    const left = { ...base, event: 'participant_left', createdAt: t + 1, id: 'EV_left_once' } as const;
    expect((await deliver(left)).outcome).toBe('applied');
    // Ann asks to come back within the grace period: invited again.
    const back = await api(stack.url, 'POST', `/api/sessions/order-2/participants/${ann.identity}/rejoin`, {
      rejoinKey: ann.rejoinKey,
    });
    expect(back.status).toBe(200);
    expect(await stateOf('order-2', ann.identity)).toBe('invited');
    // LiveKit retries the delivery of the same leave: it must not undo the return.
    expect(await deliver(left)).toEqual({ status: 200, outcome: 'duplicate' });
    expect(await stateOf('order-2', ann.identity)).toBe('invited');
  });

  it('a join into a session whose node is down, before the herd reached it, rebuilds it first and lands on the new node', async () => {
    const nodeStates = async () =>
      (await operatorApi<Array<{ url: string; status: string }>>(stack.url, '/api/nodes')).body;
    const until = async (what: (nodes: Array<{ url: string; status: string }>) => boolean) => {
      const deadline = Date.now() + 5_000;
      while (!what(await nodeStates()) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(what(await nodeStates())).toBe(true);
    };
    await until((nodes) => nodes.every((n) => n.status === 'up'));
    const ann = await join(stack.url, 'join-on-dead', 'Ann');
    let release!: () => void;
    store.herdListGate = new Promise((resolve) => (release = resolve));
    try {
      stack.nodes.state.set(ann.url, 'refused');
      await until((nodes) => nodes.find((n) => n.url === ann.url)?.status === 'down');
      const bob = await join(stack.url, 'join-on-dead', 'Bob');
      expect(bob.url).not.toBe(ann.url);
      expect(bob.generation).toBe(ann.generation + 1);
      const sessions = (await operatorApi<SessionsView>(stack.url, '/api/sessions')).body;
      expect(
        sessions
          .find((s) => s.sessionId === 'join-on-dead')
          ?.participants.map((p) => p.identity)
          .sort(),
      ).toEqual([ann.identity, bob.identity].sort());
    } finally {
      store.herdListGate = undefined;
      release();
      stack.nodes.state.set(ann.url, 'up');
    }
    await until((nodes) => nodes.every((n) => n.status === 'up')); // as the next spec expects them
  });

  it('a store failing under a rebuild is logged and counted, never an unhandled rejection; the app keeps serving', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const ann = await join(stack.url, 'store-down', 'Ann');
      const failures = async () => {
        const text = await scrapeMetrics(stack.url);
        return Number(/session_rebuilder_background_failures_total\{task="rebuild-node"\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      const before = await failures();
      store.failWrites = new Error('store unreachable (test)');
      stack.nodes.state.set(ann.url, 'refused');
      const deadline = Date.now() + 5_000;
      while ((await failures()) === before && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await failures()).toBeGreaterThan(before);
      store.failWrites = undefined;
      expect((await fetch(`${stack.url}/health`)).status).toBe(200);
      // The store is back: the next trigger (a client's report) moves the session.
      const back = await api<{ url: string }>(
        stack.url,
        'POST',
        `/api/sessions/store-down/participants/${ann.identity}/rejoin`,
        {
          rejoinKey: ann.rejoinKey,
          failedUrl: ann.url,
        },
      );
      expect(back.status).toBe(200);
      expect(back.body.url).not.toBe(ann.url);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      store.failWrites = undefined;
      for (const url of stack.nodes.urls) stack.nodes.state.set(url, 'up');
    }
  });
});
