// Hostile input where OpenAPI cannot reach (schemathesis covers the HTTP API): thousands of generated
// inputs (fast-check, fixed seeds) to the webhook endpoint with genuinely signed but hostile bodies, to
// the socket.io handshake, and to a connected socket's events. Each gets a clear 4xx or a refused
// connection with a reason, the app keeps serving, and nothing in the registry changes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { io } from 'socket.io-client';
import type { JoinResponse } from '../../src/contracts';
import { MAX_SOCKET_MESSAGES_PER_SECOND } from '../../src/realtime/session.gateway';
import { InProcessApp, startInProcessApp, TEST_API_KEY, TEST_API_SECRET } from '../support/in-process-app';
import { postWebhook, signWebhook, webhookBody } from '../support/livekit-webhook';
import { connect, join, operatorApi, type ConnectedParticipant } from '../support/session-client';

const WEBHOOKS = 1_500;
const HANDSHAKES = 400;
const SOCKET_EVENTS = 2_000;

describe('hostile input: webhooks, socket handshakes and socket events (fast-check)', () => {
  let stack: InProcessApp;
  let ann: JoinResponse;
  let registry: () => Promise<unknown>;
  const received: Record<string, number> = {};

  beforeAll(async () => {
    stack = await startInProcessApp({});
    ann = await join(stack.url, 'fuzzed', 'Ann');
    registry = async () => (await operatorApi(stack.url, '/api/sessions')).body;
  });
  afterAll(async () => {
    console.log(
      `hostile inputs received: ${Object.entries(received)
        .map(([surface, n]) => `${surface} ${n}`)
        .join(', ')}`,
    );
    await stack?.close();
  });

  it(`${WEBHOOKS} signed but hostile webhook bodies: 200 (ignored) or 400, never a 5xx, the registry unchanged`, async () => {
    const before = await registry();
    const text = fc.oneof(fc.string(), fc.constantFrom('fuzzed', ann.identity, '', '__proto__', 'constructor'));
    const structured = fc
      .record({
        event: fc.oneof(
          fc.constantFrom('participant_joined', 'participant_left', 'room_finished', 'room_started', 'track_published'),
          fc.string(),
        ),
        room: text,
        roomSid: fc.option(fc.string(), { nil: undefined }),
        identity: fc.option(text, { nil: undefined }),
        id: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
        createdAt: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
      })
      .map((input) => {
        try {
          return webhookBody(input as Parameters<typeof webhookBody>[0]);
        } catch {
          return JSON.stringify(input); // the protocol refused it: send it raw
        }
      });
    const raw = fc.oneof(
      fc.json(),
      fc.string({ minLength: 1 }),
      fc.jsonValue().map((v) => JSON.stringify({ event: 'participant_left', room: { name: 'fuzzed' }, extra: v })),
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(structured, raw), async (body) => {
        received.webhook = (received.webhook ?? 0) + 1;
        const res = await postWebhook(stack.url, body, await signWebhook(body, TEST_API_KEY, TEST_API_SECRET));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const answer = (await res.json()) as { outcome?: string; message?: string };
        if (res.status === 200) return answer.outcome === 'ignored' || answer.outcome === 'duplicate';
        return res.status === 400 && typeof answer.message === 'string' && answer.message.length > 0;
      }),
      { numRuns: WEBHOOKS, seed: 20261201 },
    );
    console.log(`webhooks by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(await registry()).toEqual(before);
  }, 120_000);

  it(`${HANDSHAKES} hostile socket handshakes: refused with a reason, the registry unchanged`, async () => {
    const before = await registry();
    const value = fc.oneof(fc.string(), fc.constantFrom('fuzzed', ann.identity), fc.anything());
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { sessionId: value, identity: value, rejoinKey: value, generation: fc.anything() },
          { requiredKeys: [] },
        ),
        async (auth) => {
          received['socket handshake'] = (received['socket handshake'] ?? 0) + 1;
          const socket = io(`${stack.url}/session`, {
            auth: auth as Record<string, unknown>,
            transports: ['websocket'],
            reconnection: false,
            timeout: 5_000,
          });
          try {
            const reason = await new Promise<string>((resolve) => {
              socket.once('connect', () => resolve('CONNECTED'));
              socket.once('connect_error', (error) => resolve(error.message));
            });
            return reason !== 'CONNECTED' && reason.length > 0;
          } finally {
            socket.close();
          }
        },
      ),
      { numRuns: HANDSHAKES, seed: 20261202 },
    );
    expect(await registry()).toEqual(before);
  }, 120_000);

  it(`${SOCKET_EVENTS} hostile events on connected sockets: no socket closed for them, the registry unchanged`, async () => {
    const before = await registry();
    // A socket sending more than MAX_SOCKET_MESSAGES_PER_SECOND a second is closed for that alone
    // (socket-abuse.e2e-spec.ts): a fresh socket takes each batch, so what is judged is the content.
    let closedByServer = 0;
    let socket: ConnectedParticipant | undefined;
    let sent = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.constant('media-lost'), fc.string({ minLength: 1 })),
          fc.array(fc.anything(), { maxLength: 3 }),
          async (event, args) => {
            received['socket event'] = (received['socket event'] ?? 0) + 1;
            if (['connect', 'disconnect', 'disconnecting', 'error', 'newListener', 'removeListener'].includes(event))
              return true; // reserved by socket.io
            if (!socket || sent++ % MAX_SOCKET_MESSAGES_PER_SECOND === 0) {
              socket?.close();
              socket = await connect(stack.url, ann);
              socket.socket.on('disconnect', (reason) => reason === 'io server disconnect' && closedByServer++);
            }
            (socket.socket as unknown as { emit: (event: string, ...args: unknown[]) => void }).emit(event, ...args);
            return true;
          },
        ),
        { numRuns: SOCKET_EVENTS, seed: 20261203 },
      );
      // A moment to take them all; the last socket is still the participant's.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(socket?.socket.connected).toBe(true);
    } finally {
      socket?.close();
    }
    expect(closedByServer).toBe(0);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    expect(await registry()).toEqual(before);
  }, 120_000);
});
