// Limits per client address: join, rejoin and get-token a minute each (429 with Retry-After), socket
// handshakes a minute and open sockets; participants per session. The app runs in this process over
// scripted nodes; supertest and socket.io-client reach it from 127.0.0.1, a trusted proxy address, so
// X-Forwarded-For stands for other clients.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { ApiErrorBody, JoinResponse } from '../../src/contracts';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';
import { connect, scrapeMetrics, type ConnectedParticipant } from '../support/session-client';

describe('limits per client address and per session', () => {
  let stack: InProcessApp;
  const http = () => request(stack.app.getHttpServer());
  const joinFrom = (address: string, sessionId: string, name = 'Ann') =>
    http().post(`/api/sessions/${sessionId}/participants`).set('x-forwarded-for', address).send({ name });

  beforeAll(async () => {
    stack = await startInProcessApp({
      args: ['--rate-limit', '3', '--max-sockets-per-address', '2', '--max-participants', '2'],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('the 4th join a minute from one address answers 429 with Retry-After; other addresses and routes keep their own budget', async () => {
    const joined: JoinResponse[] = [];
    for (let i = 0; i < 3; i++)
      joined.push((await joinFrom('203.0.113.1', `limits-${i}`).expect(201)).body as JoinResponse);
    const refused = await joinFrom('203.0.113.1', 'limits-3').expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((refused.body as ApiErrorBody).message).toMatch(
      /^too many requests from this address: at most 3 a minute; retry after \d+ s$/,
    );
    await joinFrom('203.0.113.2', 'limits-3').expect(201); // another client
    const ann = joined[0]!;
    await http()
      .post(`/api/sessions/${ann.sessionId}/participants/${ann.identity}/rejoin`)
      .set('x-forwarded-for', '203.0.113.1')
      .send({ rejoinKey: ann.rejoinKey })
      .expect(200); // the rejoin route counts on its own
    for (let i = 0; i < 3; i++)
      await http()
        .post('/api/get-token')
        .set('x-forwarded-for', '203.0.113.3')
        .send({ sessionId: `tokens-${i}` })
        .expect(200);
    await http()
      .post('/api/get-token')
      .set('x-forwarded-for', '203.0.113.3')
      .send({ sessionId: 'tokens-3' })
      .expect(429);
    expect(await scrapeMetrics(stack.url)).toMatch(/session_rebuilder_rate_limited_total\{route="join"\} 1\n/);
  });

  it('a session holds at most --max-participants, whatever its room settings ask', async () => {
    await joinFrom('198.51.100.1', 'capped').expect(201);
    await joinFrom('198.51.100.2', 'capped').expect(201);
    const third = await joinFrom('198.51.100.3', 'capped').expect(409);
    expect((third.body as ApiErrorBody).message).toBe('session capped is full (2 participants)');
  });

  it('sockets: at most 2 open per address, and 3 handshakes a minute; refused with a reason, counted', async () => {
    const people = [];
    for (let i = 0; i < 3; i++)
      people.push((await joinFrom(`192.0.2.${10 + i}`, `sockets-${i}`, `P${i}`).expect(201)).body as JoinResponse);
    const open: ConnectedParticipant[] = [];
    try {
      // From 127.0.0.1 itself (no X-Forwarded-For): two open sockets, then the third is refused.
      open.push(await connect(stack.url, people[0]!), await connect(stack.url, people[1]!));
      await expect(connect(stack.url, people[2]!)).rejects.toThrow(
        'too many open connections from this address: at most 2',
      );
      // That refused handshake was the third of the minute: closing one socket frees a place, but the
      // minute's handshakes are spent.
      open.shift()!.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(connect(stack.url, people[2]!)).rejects.toThrow(
        'too many connection attempts from this address: at most 3 a minute',
      );
      expect(await scrapeMetrics(stack.url)).toMatch(
        /session_rebuilder_rate_limited_total\{route="socket-handshake"\} 2\n/,
      );
    } finally {
      for (const p of open) p.close();
    }
  });
});

describe('sessions per media node', () => {
  let stack: InProcessApp;
  beforeAll(async () => {
    stack = await startInProcessApp({ nodes: 2, args: ['--max-sessions-per-node', '1'] });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a node holds at most --max-sessions-per-node: the next session goes to another, then 503 saying the nodes are full', async () => {
    const http = () => request(stack.app.getHttpServer());
    const first = (await http().post('/api/sessions/one/participants').send({ name: 'Ann' }).expect(201))
      .body as JoinResponse;
    const second = (await http().post('/api/sessions/two/participants').send({ name: 'Bob' }).expect(201))
      .body as JoinResponse;
    expect(second.url).not.toBe(first.url);
    const third = await http().post('/api/sessions/three/participants').send({ name: 'Cid' }).expect(503);
    expect((third.body as ApiErrorBody).message).toBe(
      'every media node that is up is full (--node-capacity, --max-sessions-per-node); try again in a moment',
    );
    await http().post('/api/sessions/one/participants').send({ name: 'Dan' }).expect(201); // joining an existing session is not a new one
  });
});
