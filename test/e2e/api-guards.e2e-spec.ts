import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiErrorBody, JoinResponse } from '../../src/contracts';
import { postWebhook, signWebhook, webhookBody } from '../support/livekit-webhook';
import { startRebuildStack, RebuildStack } from '../support/rebuild-stack';
import { api, connect, join } from '../support/session-client';

describe('API guards: keys, validation, webhooks', () => {
  let stack: RebuildStack;
  let ann: JoinResponse;

  beforeAll(async () => {
    stack = await startRebuildStack(2);
    ann = await join(stack.app.url, 'guarded', 'Ann');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a wrong rejoin key is 401 over HTTP and refused at the socket handshake', async () => {
    const res = await api<ApiErrorBody>(stack.app.url, 'POST', `/api/sessions/guarded/participants/${ann.identity}/rejoin`, { rejoinKey: 'nope' });
    assert.equal(res.status, 401);
    expect(Object.keys(res.body).sort()).toEqual(['error', 'message', 'statusCode']);
    await assert.rejects(connect(stack.app.url, { ...ann, rejoinKey: 'nope' }), /wrong rejoin key/);
    await assert.rejects(connect(stack.app.url, { ...ann, identity: 'nobody-000000' }), /unknown participant/);
    const del = await api(stack.app.url, 'DELETE', `/api/sessions/guarded/participants/${ann.identity}`, { rejoinKey: 'nope' });
    assert.equal(del.status, 401);
    const ok = await connect(stack.app.url, ann);
    ok.close();
  });

  it('validates every input and names the failing fields', async () => {
    const badId = await api<ApiErrorBody>(stack.app.url, 'POST', '/api/sessions/bad%20id/participants', { name: 'Ann' });
    assert.equal(badId.status, 400);
    assert.ok(badId.body.details?.sessionId, JSON.stringify(badId.body));
    const unknown = await api<ApiErrorBody>(stack.app.url, 'POST', '/api/sessions/ok/participants', { name: 'Ann', admin: true });
    assert.equal(unknown.status, 400);
    assert.ok(unknown.body.details?.admin, JSON.stringify(unknown.body));
    const badName = await api<ApiErrorBody>(stack.app.url, 'POST', '/api/sessions/ok/participants', { name: 'x'.repeat(65), metadata: 'y'.repeat(4097) });
    assert.equal(badName.status, 400);
    assert.ok(badName.body.details?.name && badName.body.details?.metadata, JSON.stringify(badName.body));
    const control = await api<ApiErrorBody>(stack.app.url, 'POST', '/api/sessions/ok/participants', { name: 'a\u0007b' });
    assert.equal(control.status, 400);
    const huge = await api<ApiErrorBody>(stack.app.url, 'POST', '/api/sessions/ok/participants', { name: 'Ann', metadata: 'z'.repeat(17 * 1024) });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.statusCode, 413);
    const notJson = await api<ApiErrorBody>(stack.app.url, 'POST', '/api/sessions/ok/participants', '{"name":');
    assert.equal(notJson.status, 400);
    for (const body of [badId.body, unknown.body, badName.body, huge.body, notJson.body]) assert.doesNotMatch(JSON.stringify(body), /at .*\.js:\d+/);
  });

  it('refuses unsigned and mis-signed webhooks without a state change, 400 on a malformed signed body', async () => {
    const body = webhookBody({ event: 'participant_joined', room: 'guarded', identity: ann.identity });
    assert.equal((await postWebhook(stack.app.url, body)).status, 401);
    assert.equal((await postWebhook(stack.app.url, body, await signWebhook(body, stack.apiKey, 'wrong-secret'))).status, 401);
    const otherBody = webhookBody({ event: 'participant_joined', room: 'guarded', identity: 'someone-else' });
    assert.equal((await postWebhook(stack.app.url, body, await signWebhook(otherBody, stack.apiKey, stack.apiSecret))).status, 401, 'signature of another body');
    const state = async () =>
      (await api<Array<{ sessionId: string; participants: Array<{ identity: string; state: string }> }>>(stack.app.url, 'GET', '/api/sessions')).body
        .find((s) => s.sessionId === 'guarded')!
        .participants.find((p) => p.identity === ann.identity)!.state;
    assert.equal(await state(), 'invited', 'refused webhooks changed nothing');

    const malformed = '{"event": "participant_joined", "room": 12';
    assert.equal((await postWebhook(stack.app.url, malformed, await signWebhook(malformed, stack.apiKey, stack.apiSecret))).status, 400);

    const res = await postWebhook(stack.app.url, body, await signWebhook(body, stack.apiKey, stack.apiSecret));
    assert.equal(res.status, 200);
    assert.equal(await state(), 'joined');
  });

  it('serves /health, /metrics and /api/info', async () => {
    assert.equal((await api(stack.app.url, 'GET', '/health')).status, 200);
    const metrics = await (await fetch(`${stack.app.url}/metrics`)).text();
    assert.match(metrics, /session_rebuilder_node_up\{node="ws:\/\/127\.0\.0\.1:\d+"\} 1/);
    assert.match(metrics, /session_rebuilder_sessions\{state="placed"\} 1/);
    const info = await api<{ devCluster: boolean; nodes: unknown[] }>(stack.app.url, 'GET', '/api/info');
    assert.equal(info.body.devCluster, false);
    assert.equal(info.body.nodes.length, 2);
    const crash = await api<ApiErrorBody>(stack.app.url, 'POST', '/api/dev/sessions/guarded/crash-node');
    assert.equal(crash.status, 404);
    assert.match(crash.body.message, /only with the embedded dev cluster/);
  });

  it('a participant who left for good is never re-invited', async () => {
    const bob = await join(stack.app.url, 'guarded', 'Bob');
    const del = await api(stack.app.url, 'DELETE', `/api/sessions/guarded/participants/${bob.identity}`, { rejoinKey: bob.rejoinKey });
    assert.equal(del.status, 204);
    const res = await api(stack.app.url, 'POST', `/api/sessions/guarded/participants/${bob.identity}/rejoin`, { rejoinKey: bob.rejoinKey });
    assert.equal(res.status, 404);
    await assert.rejects(connect(stack.app.url, bob), /has left/);
  });
});
