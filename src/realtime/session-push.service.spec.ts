import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../config/app-config';
import { participantRoom, SessionPushService, type SessionNamespace } from './session-push.service';

/** The namespace as the service uses it: this instance's rooms, and what it tells the other instances. */
class FakeNamespace {
  readonly delivered: Array<{ room: string; event: string; generation: number }> = [];
  readonly toOthers: unknown[][] = [];
  readonly sockets = new Map<string, unknown>();
  private readonly handlers = new Map<string, (arg: unknown) => void>();
  readonly local = {
    to: (room: string) => ({
      emit: (event: string, payload: { generation: number }) =>
        this.delivered.push({ room, event, generation: payload.generation }),
    }),
  };
  serverSideEmit(event: string, arg: unknown[]): void {
    if (event === 'pushes') this.toOthers.push(arg);
  }
  on(event: string, handler: (arg: unknown) => void): void {
    this.handlers.set(event, handler);
  }
  fromOtherInstance(event: string, arg: unknown): void {
    this.handlers.get(event)?.(arg);
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

function service(shared: boolean): { push: SessionPushService; namespace: FakeNamespace } {
  const config = { redisTarget: shared ? { url: 'redis://127.0.0.1:6379' } : undefined } as unknown as AppConfig;
  const push = new SessionPushService(config);
  const namespace = new FakeNamespace();
  push.attach(namespace as unknown as SessionNamespace);
  return { push, namespace };
}

const moved = (sessionId: string, generation: number, identities: string[]) => ({
  sessionId,
  url: 'ws://node-2',
  generation,
  reason: 'node-down' as const,
  invitations: identities.map((identity) => ({ identity, token: `t-${identity}` })),
});

describe('SessionPushService', () => {
  it("sends a turn's pushes to this instance's sockets and, in one message, to the other instances, in order", async () => {
    const { push, namespace } = service(true);
    push.moved(moved('s1', 2, ['a', 'b']));
    push.moved(moved('s2', 5, ['c']));
    push.waiting({ sessionId: 's1', generation: 2, reason: 'no node', identities: ['a'] });
    expect(namespace.delivered).toEqual([]); // not before the turn ends
    await turn();
    const expected = [
      { room: participantRoom('s1', 'a'), event: 'rejoin', generation: 2 },
      { room: participantRoom('s1', 'b'), event: 'rejoin', generation: 2 },
      { room: participantRoom('s2', 'c'), event: 'rejoin', generation: 5 },
      { room: participantRoom('s1', 'a'), event: 'waiting-for-node', generation: 2 },
    ];
    expect(namespace.delivered).toEqual(expected);
    expect(namespace.toOthers).toHaveLength(1);
    expect(
      (
        namespace.toOthers[0] as Array<{ room: string; event: string; payload: { generation: number; token?: string } }>
      ).map((p) => ({ room: p.room, event: p.event, generation: p.payload.generation })),
    ).toEqual(expected);

    // The next turn's pushes are a message of their own.
    push.moved(moved('s3', 1, ['d']));
    await turn();
    expect(namespace.toOthers).toHaveLength(2);
  });

  it("delivers another instance's pushes to the sockets held here, and drops what is not a push", () => {
    const { namespace } = service(true);
    namespace.fromOtherInstance('pushes', [
      {
        room: participantRoom('s1', 'a'),
        event: 'rejoin',
        payload: { url: 'ws://n', token: 't', generation: 3, reason: 'node-down' },
      },
      { room: participantRoom('s1', 'b'), event: 'kick', payload: { generation: 3 } },
      { room: 42, event: 'rejoin', payload: { generation: 3 } },
      null,
    ]);
    namespace.fromOtherInstance('pushes', 'not a list');
    expect(namespace.delivered).toEqual([{ room: participantRoom('s1', 'a'), event: 'rejoin', generation: 3 }]);
    expect(namespace.toOthers).toEqual([]); // never sent on again
  });

  it('alone (no Redis) tells no other instance', async () => {
    const { push, namespace } = service(false);
    push.moved(moved('s1', 2, ['a']));
    await turn();
    expect(namespace.delivered).toHaveLength(1);
    expect(namespace.toOthers).toEqual([]);
  });

  it('sends what is queued before it closes every connection (a drain)', () => {
    const { push, namespace } = service(true);
    push.moved(moved('s1', 2, ['a']));
    push.closeAllConnections();
    expect(namespace.delivered).toHaveLength(1);
    expect(namespace.toOthers).toHaveLength(1);
  });
});
