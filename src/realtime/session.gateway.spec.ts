import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { RejoinPayload } from '../contracts';
import type { AppConfig } from '../config/app-config';
import type { MetricsService } from '../observability/metrics.service';
import type { SessionsService } from '../sessions/sessions.service';
import { SessionGateway } from './session.gateway';
import type { SessionNamespace, SessionPushService } from './session-push.service';

/** What the gateway reads of a connected socket, and what it sends it. */
function fakeSocket(sessionId: string, identity: string, knownGeneration: number, connected = true) {
  const sent: Array<[string, unknown]> = [];
  const outgoing: Array<(event: string, payload: unknown) => void> = [];
  return {
    connected,
    data: {
      sessionId,
      identity,
      waitingForNode: false,
      generation: knownGeneration,
      knownGeneration,
      reportedAt: new Map(),
    },
    sent,
    emit: (event: string, payload: unknown) => {
      sent.push([event, payload]);
      for (const listener of outgoing) listener(event, payload);
    },
    use: () => undefined,
    join: () => Promise.resolve(),
    onAnyOutgoing: (listener: (event: string, payload: unknown) => void) => outgoing.push(listener),
  };
}

/** The session store's truth, as catchUp answers from it: each session's generation, or a store failure. */
function gatewayOver(generations: Map<string, number>, sockets: Array<ReturnType<typeof fakeSocket>>) {
  const state = { storeDown: false };
  const sessions = {
    catchUp: jest.fn(
      async (sessionId: string, _identity: string, known: number): Promise<RejoinPayload | undefined> => {
        await Promise.resolve();
        if (state.storeDown) throw new Error('the session store (Redis) is unavailable');
        const generation = generations.get(sessionId)!;
        return generation > known
          ? { url: `ws://node-${generation}`, token: `token-${generation}`, generation, reason: 'catch-up' }
          : undefined;
      },
    ),
  };
  const gateway = new SessionGateway(
    sessions as unknown as SessionsService,
    { attach: () => undefined } as unknown as SessionPushService,
    {} as MetricsService,
    { maxSocketsPerAddress: 0, rateLimit: 0, trustProxy: ['loopback'] } as unknown as AppConfig,
  );
  gateway.afterInit({
    use: () => undefined,
    sockets: new Map(sockets.map((s, i) => [String(i), s])),
  } as unknown as SessionNamespace);
  return { gateway, sessions, state };
}

describe(SessionGateway.name, () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('once the push channel is back, each socket behind its session is sent the move it missed; the others nothing', async () => {
    const behind = fakeSocket('moved', 'ann', 1);
    const current = fakeSocket('moved', 'ben', 2); // it received the push: it runs on 2
    const untouched = fakeSocket('stayed', 'cy', 1);
    const gone = fakeSocket('moved', 'dee', 1, false);
    const { gateway } = gatewayOver(
      new Map([
        ['moved', 2],
        ['stayed', 1],
      ]),
      [behind, current, untouched, gone],
    );

    await gateway.catchUpEverySocket({ channel: 'socket.io sub' });

    expect(behind.sent).toEqual([
      ['rejoin', { url: 'ws://node-2', token: 'token-2', generation: 2, reason: 'catch-up' }],
    ]);
    expect([current.sent, untouched.sent, gone.sent]).toEqual([[], [], []]);
  });

  it('a push that reached the socket counts: a channel back after it sends that socket nothing more', async () => {
    const socket = fakeSocket('moved', 'ann', 1);
    const { gateway } = gatewayOver(new Map([['moved', 3]]), [socket]);
    gateway.handleConnection(socket as never);
    socket.emit('rejoin', { url: 'ws://node-3', token: 't', generation: 3, reason: 'node-down' });

    await gateway.catchUpEverySocket({ channel: 'socket.io sub' });

    expect(socket.data.knownGeneration).toBe(3);
    expect(socket.sent.map(([event, payload]) => [event, (payload as RejoinPayload).reason])).toEqual([
      ['rejoin', 'node-down'],
    ]);
  });

  it('a store that fails the catch-up is asked again until it answers', async () => {
    jest.useFakeTimers();
    const socket = fakeSocket('moved', 'ann', 1);
    const { gateway, sessions, state } = gatewayOver(new Map([['moved', 2]]), [socket]);
    state.storeDown = true;

    await gateway.catchUpEverySocket({ channel: 'socket.io sub' });
    expect(socket.sent).toEqual([]);
    state.storeDown = false;
    await jest.advanceTimersByTimeAsync(500);

    expect(sessions.catchUp).toHaveBeenCalledTimes(2);
    expect(socket.sent.map(([, payload]) => (payload as RejoinPayload).generation)).toEqual([2]);
  });
});
