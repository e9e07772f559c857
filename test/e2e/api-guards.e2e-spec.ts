// The HTTP and socket guards: keys, validation, error bodies, webhook signatures, operators' endpoints.
// Nothing here needs a media node process: the app runs in this process over scripted nodes
// (@nestjs/testing), and HTTP goes through supertest.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { ApiErrorBody, JoinResponse } from '../../src/contracts';
import { InProcessApp, startInProcessApp, TEST_API_KEY, TEST_API_SECRET } from '../support/in-process-app';
import { signWebhook, webhookBody } from '../support/livekit-webhook';
import { connect, OPERATOR_HEADERS, TEST_ADMIN_TOKEN } from '../support/session-client';

describe('API guards: keys, validation, webhooks', () => {
  let stack: InProcessApp;
  let ann: JoinResponse;
  const http = () => request(stack.app.getHttpServer());
  const operator = (path: string) => http().get(path).set(OPERATOR_HEADERS);
  const join = async (sessionId: string, name: string): Promise<JoinResponse> =>
    (await http().post(`/api/sessions/${sessionId}/participants`).send({ name }).expect(201)).body as JoinResponse;
  /** No stack traces and only the documented fields in any error body. */
  const expectApiError = (body: ApiErrorBody, status: number) => {
    expect(body.statusCode).toBe(status);
    expect(
      Object.keys(body)
        .filter((k) => k !== 'details')
        .sort(),
    ).toEqual(['error', 'message', 'statusCode']);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.[jt]s:\d+/);
  };

  beforeAll(async () => {
    stack = await startInProcessApp({ nodes: 2 });
    ann = await join('guarded', 'Ann');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a wrong rejoin key is 401 over HTTP and refused at the socket handshake', async () => {
    const res = await http()
      .post(`/api/sessions/guarded/participants/${ann.identity}/rejoin`)
      .send({ rejoinKey: 'nope' })
      .expect(401);
    expectApiError(res.body as ApiErrorBody, 401);
    await expect(connect(stack.url, { ...ann, rejoinKey: 'nope' })).rejects.toThrow(/wrong rejoin key/);
    await expect(connect(stack.url, { ...ann, identity: 'nobody-000000' })).rejects.toThrow(/unknown participant/);
    await http().delete(`/api/sessions/guarded/participants/${ann.identity}`).send({ rejoinKey: 'nope' }).expect(401);
    const ok = await connect(stack.url, ann);
    ok.close();
  });

  it('validates every input and names the failing fields', async () => {
    const post = (path: string, body: unknown) =>
      http()
        .post(path)
        .set('content-type', 'application/json')
        .send(body as object);
    const badId = await post('/api/sessions/bad%20id/participants', { name: 'Ann' }).expect(400);
    expect((badId.body as ApiErrorBody).details?.sessionId).toBeDefined();
    const unknown = await post('/api/sessions/ok/participants', { name: 'Ann', admin: true }).expect(400);
    expect((unknown.body as ApiErrorBody).details?.admin).toBeDefined();
    const badName = await post('/api/sessions/ok/participants', {
      name: 'x'.repeat(65),
      metadata: 'y'.repeat(4097),
    }).expect(400);
    expect(Object.keys((badName.body as ApiErrorBody).details ?? {}).sort()).toEqual(['metadata', 'name']);
    await post('/api/sessions/ok/participants', { name: 'a\u0007b' }).expect(400);
    const huge = await post('/api/sessions/ok/participants', { name: 'Ann', metadata: 'z'.repeat(17 * 1024) }).expect(
      413,
    );
    expect((huge.body as ApiErrorBody).message).toBe('request body is larger than 16384 bytes');
    const notJson = await post('/api/sessions/ok/participants', '{"name":').expect(400);
    expect((notJson.body as ApiErrorBody).message).toBe('request body is not valid JSON');
    for (const res of [badId, unknown, badName, huge, notJson]) expectApiError(res.body as ApiErrorBody, res.status);
  });

  it('a webhook body over its own limit (1 MiB) is 413 naming that limit', async () => {
    // LiveKit's signature (of another body: the sha256 is checked after the body, which never comes).
    const signature = await signWebhook('x', TEST_API_KEY, TEST_API_SECRET);
    const res = await http()
      .post('/webhooks/livekit')
      .set('content-type', 'application/webhook+json')
      .set('authorization', signature)
      .send('x'.repeat(1024 * 1024 + 1))
      .expect(413);
    expect((res.body as ApiErrorBody).message).toBe('request body is larger than 1048576 bytes');
  });

  it('refuses unsigned and mis-signed webhooks without a state change, 400 on a malformed signed body', async () => {
    const webhook = (body: string, authorization?: string) => {
      const req = http().post('/webhooks/livekit').set('content-type', 'application/webhook+json');
      return (authorization ? req.set('authorization', authorization) : req).send(body);
    };
    const body = webhookBody({ event: 'participant_joined', room: 'guarded', identity: ann.identity });
    await webhook(body).expect(401);
    await webhook(body, await signWebhook(body, TEST_API_KEY, 'wrong-secret')).expect(401);
    const otherBody = webhookBody({ event: 'participant_joined', room: 'guarded', identity: 'someone-else' });
    await webhook(body, await signWebhook(otherBody, TEST_API_KEY, TEST_API_SECRET)).expect(401); // signature of another body
    // A genuine webhook replayed after its token expired (LiveKit signs them for 5 min): refused.
    await webhook(body, await signWebhook(body, TEST_API_KEY, TEST_API_SECRET, { expiredSecondsAgo: 60 })).expect(401);
    const state = async () => {
      const sessions = (await operator('/api/sessions').expect(200)).body as Array<{
        sessionId: string;
        participants: Array<{ identity: string; state: string }>;
      }>;
      return sessions.find((s) => s.sessionId === 'guarded')!.participants.find((p) => p.identity === ann.identity)!
        .state;
    };
    expect(await state()).toBe('invited'); // refused webhooks changed nothing

    const malformed = '{"event": "participant_joined", "room": 12';
    await webhook(malformed, await signWebhook(malformed, TEST_API_KEY, TEST_API_SECRET)).expect(400);

    await webhook(body, await signWebhook(body, TEST_API_KEY, TEST_API_SECRET)).expect(200);
    expect(await state()).toBe('joined');
    const metrics = (await operator('/metrics').expect(200)).text;
    expect(metrics).toMatch(/session_rebuilder_webhooks_refused_total\{reason="signature"\} 4\n/);
    expect(metrics).toMatch(/session_rebuilder_webhooks_refused_total\{reason="body"\} 1\n/);
  });

  it('serves /health, /metrics and /api/info', async () => {
    await http().get('/health').expect(200);
    const metrics = (await operator('/metrics').expect(200)).text;
    expect(metrics).toMatch(/session_rebuilder_node_up\{node="ws:\/\/127\.0\.0\.11:7880"\} 1/);
    expect(metrics).toMatch(/session_rebuilder_sessions\{state="placed"\} 1/);
    const info = (await operator('/api/info').expect(200)).body as { devCluster: boolean; nodes: unknown[] };
    expect(info.devCluster).toBe(false);
    expect(info.nodes).toHaveLength(2);
    const crash = await http().post('/api/dev/sessions/guarded/crash-node').set(OPERATOR_HEADERS).expect(404);
    expect((crash.body as ApiErrorBody).message).toMatch(/only with the embedded dev cluster/);
  });

  it('a participant who left for good is never re-invited', async () => {
    const bob = await join('guarded', 'Bob');
    await http()
      .delete(`/api/sessions/guarded/participants/${bob.identity}`)
      .send({ rejoinKey: bob.rejoinKey })
      .expect(204);
    await http()
      .post(`/api/sessions/guarded/participants/${bob.identity}/rejoin`)
      .send({ rejoinKey: bob.rejoinKey })
      .expect(404);
    await expect(connect(stack.url, bob)).rejects.toThrow(/has left/);
  });
});

describe("operators' endpoints: the admin token, dev mode, or not served", () => {
  const OPERATOR_GETS = ['/api/sessions', '/api/nodes', '/api/info', '/metrics'];
  const stacks: InProcessApp[] = [];
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.close()));
  });
  const start = async (options: Parameters<typeof startInProcessApp>[0]) => {
    const stack = await startInProcessApp(options);
    stacks.push(stack);
    return () => request(stack.app.getHttpServer());
  };

  it('with --admin-token: 401 and a WWW-Authenticate challenge without it or with a wrong one, 200 with it; joins need none', async () => {
    const http = await start({});
    for (const path of OPERATOR_GETS) {
      const missing = await http().get(path).expect(401);
      expect(missing.headers['www-authenticate']).toMatch(/^Bearer /);
      expect((missing.body as ApiErrorBody).message).toMatch(/Authorization: Bearer/);
      await http().get(path).set('authorization', `Bearer ${TEST_ADMIN_TOKEN}x`).expect(401);
      await http()
        .get(path)
        .set('authorization', `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}`)
        .expect(401);
      await http().get(path).set(OPERATOR_HEADERS).expect(200);
    }
    await http().post('/api/dev/sessions/any/crash-node').expect(401);
    await http().post('/api/sessions/anyone/participants').send({ name: 'Ann' }).expect(201);
    await http().get('/health').expect(200);
  });

  it('without --admin-token outside dev mode they are not served (404, saying how to enable them); the API still is', async () => {
    const http = await start({ adminToken: null });
    for (const path of OPERATOR_GETS) {
      const res = await http().get(path).set(OPERATOR_HEADERS).expect(404);
      expect((res.body as ApiErrorBody).message).toBe(`GET ${path} is served only with --admin-token (or in dev mode)`);
    }
    await http().post('/api/sessions/anyone/participants').send({ name: 'Ann' }).expect(201);
  });

  it('in dev mode (--dev) without a token they are open', async () => {
    const http = await start({ adminToken: null, args: ['--dev'] });
    for (const path of OPERATOR_GETS) await http().get(path).expect(200);
  });
});
