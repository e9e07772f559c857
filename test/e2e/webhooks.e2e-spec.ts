// LiveKit's webhooks across instances and before their body: two backend instances in this process
// over one real redis-server (LiveKit may deliver an event, and retry it, to any instance behind the
// balancer), and requests whose Authorization is no LiveKit signature, refused before their body is read.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Redis from 'ioredis';
import { REMEMBER_EVENT_ID_MS } from '../../src/webhooks/recent-event-ids';
import { redisKeys } from '../../src/backplane/redis/redis-keys';
import { postWebhook, signWebhook, webhookBody, type WebhookInput } from '../support/livekit-webhook';
import { startInProcessApp, TEST_API_KEY, TEST_API_SECRET, type InProcessApp } from '../support/in-process-app';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { api, join, operatorApi } from '../support/session-client';

type SessionsView = Array<{ sessionId: string; participants: Array<{ identity: string; state: string }> }>;

/** What the instance answered and how much of the body had been sent by then. */
interface EarlyAnswer {
  status: number;
  sentBytes: number;
  totalBytes: number;
}

/**
 * Sends a body of `totalBytes` slowly (CHUNK_BYTES every PACE_MS, about 0.5 s in all) and stops sending
 * once the answer arrives: an answer before the last chunk means the body was not waited for.
 */
function postSlowly(appUrl: string, authorization: string | undefined, totalBytes: number): Promise<EarlyAnswer> {
  const CHUNK_BYTES = 64 * 1024;
  const PACE_MS = 35;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(`${appUrl}/webhooks/livekit`, {
      method: 'POST',
      headers: {
        'content-type': 'application/webhook+json',
        'content-length': String(totalBytes),
        ...(authorization !== undefined && { authorization }),
      },
    });
    req.on('response', (res) => {
      answered = true;
      resolve({ status: res.statusCode!, sentBytes: sent, totalBytes });
      res.resume();
      req.destroy();
    });
    // Once answered, the instance closes the connection under the rest of the body: not an error here.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const sendNext = () => {
      if (answered || sent >= totalBytes) return;
      const size = Math.min(CHUNK_BYTES, totalBytes - sent);
      req.write(Buffer.alloc(size, 0x20));
      sent += size;
      if (sent < totalBytes) setTimeout(sendNext, PACE_MS);
      else req.end();
    };
    sendNext();
  });
}

describe('webhooks over two instances sharing Redis', () => {
  let redis: RedisServer;
  let one: InProcessApp;
  let two: InProcessApp;

  const stateOf = async (sessionId: string, identity: string): Promise<string | undefined> => {
    const sessions = (await operatorApi<SessionsView>(one.url, '/api/sessions')).body;
    return sessions.find((s) => s.sessionId === sessionId)?.participants.find((p) => p.identity === identity)?.state;
  };
  const deliver = async (app: InProcessApp, input: WebhookInput): Promise<{ status: number; outcome?: string }> => {
    const body = webhookBody(input);
    const res = await postWebhook(app.url, body, await signWebhook(body, TEST_API_KEY, TEST_API_SECRET));
    return { status: res.status, outcome: ((await res.json()) as { outcome?: string }).outcome };
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    one = await startInProcessApp({ args: ['--redis', redis.url] });
    two = await startInProcessApp({ args: ['--redis', redis.url] });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await redis?.close();
  });

  it('an event applied by one instance is a duplicate at the other: a retried leave does not undo a return', async () => {
    const ann = await join(one.url, 'replayed', 'Ann');
    const roomSid = one.nodes.rooms.get(ann.url)!.get('replayed')!.sid;
    const t = Math.floor(Date.now() / 1000);
    const base = { room: 'replayed', roomSid, identity: ann.identity, participantSid: 'PA_a' } as const;
    expect(await deliver(one, { ...base, event: 'participant_joined', createdAt: t })).toEqual({
      status: 200,
      outcome: 'applied',
    });
    const left = { ...base, event: 'participant_left', createdAt: t + 1, id: 'EV_left_across_instances' } as const;
    expect(await deliver(one, left)).toEqual({ status: 200, outcome: 'applied' });
    const back = await api(one.url, 'POST', `/api/sessions/replayed/participants/${ann.identity}/rejoin`, {
      rejoinKey: ann.rejoinKey,
    });
    expect(back.status).toBe(200);
    expect(await stateOf('replayed', ann.identity)).toBe('invited');
    // LiveKit retries the same delivery, and the balancer sends it to the other instance.
    expect(await deliver(two, left)).toEqual({ status: 200, outcome: 'duplicate' });
    expect(await deliver(one, left)).toEqual({ status: 200, outcome: 'duplicate' });
    expect(await stateOf('replayed', ann.identity)).toBe('invited');
    // Remembered in Redis for as long as a replay could carry a valid signature, then gone by itself.
    const reader = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const ttl = await reader.pttl(redisKeys.webhookEvent('EV_left_across_instances'));
      expect(ttl).toBeGreaterThan(REMEMBER_EVENT_ID_MS - 60_000);
      expect(ttl).toBeLessThanOrEqual(REMEMBER_EVENT_ID_MS);
    } finally {
      reader.disconnect();
    }
  });

  it('refuses a request whose Authorization is missing or not a JWT signed with the API key and secret with 401 before its body is sent', async () => {
    const total = 900 * 1024;
    const body = webhookBody({ event: 'participant_joined', room: 'replayed', identity: 'nobody' });
    const authorizations: Array<[string, string | undefined]> = [
      ['none', undefined],
      ['not a JWT', 'not-a-jwt'],
      ['signed with another secret', await signWebhook(body, TEST_API_KEY, 'another-secret-of-reasonable-length')],
      ['signed for another API key', await signWebhook(body, 'another-key', TEST_API_SECRET)],
      ['expired', await signWebhook(body, TEST_API_KEY, TEST_API_SECRET, { expiredSecondsAgo: 60 })],
    ];
    for (const [what, authorization] of authorizations) {
      const answer = await postSlowly(one.url, authorization, total);
      expect({ what, status: answer.status, answeredBeforeTheBody: answer.sentBytes < total }).toEqual({
        what,
        status: 401,
        answeredBeforeTheBody: true,
      });
    }
    // A genuine signature's body is read and checked against it: the sha256 of another body is refused after.
    const genuine = await postSlowly(one.url, await signWebhook(body, TEST_API_KEY, TEST_API_SECRET), total);
    expect(genuine).toEqual({ status: 401, sentBytes: total, totalBytes: total });
  });
});
