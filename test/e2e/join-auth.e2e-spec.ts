// Who may join: anyone with the link by default (room settings then only from an operator), or, with
// --auth-secret, whoever holds a join token the developer's own app signed. The app runs in this
// process over scripted nodes; nothing is created for a refused join.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import request from 'supertest';
import type { ApiErrorBody, JoinResponse } from '../../src/contracts';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';
import { OPERATOR_HEADERS } from '../support/session-client';

const AUTH_SECRET = 'the-developers-app-shares-this-secret-0123';

async function joinToken(
  claims: Record<string, unknown>,
  { secret = AUTH_SECRET, expiresIn = '5m' }: { secret?: string; expiresIn?: string | number } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (expiresIn !== 0) jwt.setExpirationTime(expiresIn);
  return jwt.sign(new TextEncoder().encode(secret));
}

type SessionsView = Array<{
  sessionId: string;
  room: { maxParticipants: number; emptyTimeoutSec: number; metadata: string; agents: string[] };
  participants: Array<{ name: string }>;
}>;

describe("joins with --auth-secret: a token from the developer's app", () => {
  let stack: InProcessApp;
  const http = () => request(stack.app.getHttpServer());
  const sessions = async () =>
    (await http().get('/api/sessions').set(OPERATOR_HEADERS).expect(200)).body as SessionsView;
  const joinWith = (
    sessionId: string,
    authorization: string | undefined,
    body: Record<string, unknown> = { name: 'Ann' },
  ) => {
    const req = http().post(`/api/sessions/${sessionId}/participants`).send(body);
    return authorization === undefined ? req : req.set('authorization', authorization);
  };

  beforeAll(async () => {
    stack = await startInProcessApp({ args: ['--auth-secret', AUTH_SECRET] });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a join without a token, with a wrong, expired or expiry-less one, or bad claims: 401, and creates nothing', async () => {
    const missing = await joinWith('closed', undefined).expect(401);
    expect((missing.body as ApiErrorBody).message).toMatch(/Authorization: Bearer <JWT, HS256/);
    const cases: Array<[string, RegExp]> = [
      [
        `Bearer ${await joinToken({ sessions: 'closed' }, { secret: 'somebody-elses-secret-0123456789abcdef' })}`,
        /not valid \(ERR_JWS_SIGNATURE_VERIFICATION_FAILED\)/,
      ],
      [
        `Bearer ${await joinToken({ sessions: 'closed' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
        /has expired/,
      ],
      [
        `Bearer ${await joinToken({ sessions: 'closed' }, { expiresIn: 0 })}`,
        /not valid \(ERR_JWT_CLAIM_VALIDATION_FAILED\)/,
      ],
      [`Bearer ${await joinToken({ sessoins: 'closed' })}`, /claims are not valid: sessions must be/],
      [
        `Bearer ${await joinToken({ sessions: 'closed', room: { maxParticipants: 100_000 } })}`,
        /room settings are not valid: maxParticipants/,
      ],
      [
        `Bearer ${await joinToken({ sessions: 'closed', room: { agents: ['no spaces'] } })}`,
        /room settings are not valid: agents: each agent name must be/,
      ],
      ['Bearer not.a.jwt', /not valid/],
      [`Basic ${Buffer.from('user:pass').toString('base64')}`, /Authorization: Bearer/],
    ];
    for (const [authorization, message] of cases) {
      const res = await joinWith('closed', authorization).expect(401);
      expect((res.body as ApiErrorBody).message).toMatch(message);
    }
    await http().post('/api/get-token').send({ sessionId: 'closed' }).expect(401);
    expect((await sessions()).find((s) => s.sessionId === 'closed')).toBeUndefined();
  });

  it('refuses a token that lives longer than --auth-max-age (24 h by default): 401 with why, nothing created', async () => {
    const res = await joinWith(
      'century',
      `Bearer ${await joinToken({ sessions: 'century' }, { expiresIn: '100y' })}`,
    ).expect(401);
    expect((res.body as ApiErrorBody).message).toMatch(
      /^the join token lives too long: its exp is 3155760000 s after its iat; this backend accepts at most 86400 s \(--auth-max-age\)$/,
    );
    await joinWith('day', `Bearer ${await joinToken({ sessions: 'day' }, { expiresIn: '24h' })}`).expect(201);
    expect((await sessions()).map((s) => s.sessionId)).not.toContain('century');
  });

  it('a valid token that does not cover the session: 403, nothing created', async () => {
    const token = await joinToken({ sessions: ['team-*', 'standup'] });
    const res = await joinWith('elsewhere', `Bearer ${token}`).expect(403);
    expect((res.body as ApiErrorBody).message).toBe('the join token does not cover session elsewhere');
    await joinWith('team', `Bearer ${token}`).expect(403); // team-* needs the dash
    expect((await sessions()).map((s) => s.sessionId)).not.toContain('elsewhere');
  });

  it("a covering token admits the join: its name over the body's, its room settings over the body's", async () => {
    const token = await joinToken({
      sessions: ['team-*'],
      name: 'Ann from the app',
      room: { maxParticipants: 3, metadata: 'from-claims', agents: ['echo'] },
    });
    const joined = (
      await joinWith('team-red', `Bearer ${token}`, {
        name: 'Mallory',
        room: { maxParticipants: 1000, emptyTimeoutSec: 86_400, agents: ['mallorys-bot'] },
      }).expect(201)
    ).body as JoinResponse;
    expect(joined.name).toBe('Ann from the app');
    const created = (await sessions()).find((s) => s.sessionId === 'team-red')!;
    expect([created.room.maxParticipants, created.room.metadata, created.room.emptyTimeoutSec]).toEqual([
      3,
      'from-claims',
      300,
    ]);
    expect(created.room.agents).toEqual(['echo']);
    expect(created.participants.map((p) => p.name)).toEqual(['Ann from the app']);
    const plain = await joinToken({ sessions: 'team-*' });
    await joinWith('team-blue', `Bearer ${plain}`, {
      name: 'Bob',
      room: { maxParticipants: 1000, agents: ['echo'] },
    }).expect(201);
    const blue = (await sessions()).find((s) => s.sessionId === 'team-blue')!;
    expect(blue.room.maxParticipants).toBe(100); // the body's do not count: the default cap
    expect(blue.room.agents).toEqual([]);
    const got = await http()
      .post('/api/get-token')
      .set('authorization', `Bearer ${plain}`)
      .send({ sessionId: 'team-green' })
      .expect(200);
    expect(got.body).toEqual({ token: expect.any(String), url: expect.any(String) });
  });

  it('the operator needs no join token, and its room settings count', async () => {
    await joinWith('board', OPERATOR_HEADERS.authorization, {
      name: 'Op',
      room: { maxParticipants: 7, agents: ['echo', 'note-taker'] },
    }).expect(201);
    const board = (await sessions()).find((s) => s.sessionId === 'board')!;
    expect([board.room.maxParticipants, board.room.agents]).toEqual([7, ['echo', 'note-taker']]);
    const bad = await joinWith('board-2', OPERATOR_HEADERS.authorization, {
      name: 'Op',
      room: { agents: ['echo', 'echo'] },
    }).expect(400);
    expect(Object.keys((bad.body as ApiErrorBody).details ?? {})).toEqual(['room.agents']);
  });
});

describe('joins without --auth-secret: anyone with the link, room settings from an operator only', () => {
  let stack: InProcessApp;
  const http = () => request(stack.app.getHttpServer());
  beforeAll(async () => {
    stack = await startInProcessApp({});
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("an anonymous first joiner gets the operator's defaults, not a 24-hour room for 1,000", async () => {
    await http()
      .post('/api/sessions/open/participants')
      .send({ name: 'Ann', room: { maxParticipants: 1000, emptyTimeoutSec: 86_400 } })
      .expect(201);
    await http()
      .post('/api/sessions/run-by-ops/participants')
      .set(OPERATOR_HEADERS)
      .send({ name: 'Op', room: { maxParticipants: 1000, emptyTimeoutSec: 86_400 } })
      .expect(201);
    const list = (await http().get('/api/sessions').set(OPERATOR_HEADERS).expect(200)).body as SessionsView;
    const room = (id: string) => list.find((s) => s.sessionId === id)!.room;
    expect([room('open').maxParticipants, room('open').emptyTimeoutSec]).toEqual([100, 300]);
    // The operator's count, within --max-participants (100 by default), which binds everyone.
    expect([room('run-by-ops').maxParticipants, room('run-by-ops').emptyTimeoutSec]).toEqual([100, 86_400]);
  });
});

describe('joins with --auth-max-age: how long a join token may live', () => {
  let stack: InProcessApp;
  const join = (sessionId: string, token: string) =>
    request(stack.app.getHttpServer())
      .post(`/api/sessions/${sessionId}/participants`)
      .set('authorization', `Bearer ${token}`)
      .send({ name: 'Ann' });
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(AUTH_SECRET));
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    stack = await startInProcessApp({ args: ['--auth-secret', AUTH_SECRET, '--auth-max-age', '600'] });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('admits a token of exactly the maximum, refuses one a minute longer, with or without iat, and one whose iat is set ahead to hide its life', async () => {
    await join('ten-minutes', await joinToken({ sessions: 'ten-minutes' }, { expiresIn: '10m' })).expect(201);
    const eleven = await join('eleven', await joinToken({ sessions: 'eleven' }, { expiresIn: '11m' })).expect(401);
    expect((eleven.body as ApiErrorBody).message).toBe(
      'the join token lives too long: its exp is 660 s after its iat; this backend accepts at most 600 s (--auth-max-age)',
    );
    await join('no-iat', await sign({ sessions: 'no-iat', exp: now() + 540 })).expect(201);
    const noIat = await join('no-iat-long', await sign({ sessions: 'no-iat-long', exp: now() + 3_600 })).expect(401);
    expect((noIat.body as ApiErrorBody).message).toMatch(
      /^the join token lives too long: its exp is 3\d{3} s from now; this backend accepts at most 600 s \(--auth-max-age\)$/,
    );
    const ahead = await join(
      'ahead',
      await sign({ sessions: 'ahead', iat: now() + 86_400, exp: now() + 86_400 + 60 }),
    ).expect(401);
    expect((ahead.body as ApiErrorBody).message).toMatch(
      /^the join token lives too long: its exp is 86\d{3} s from now/,
    );
  });
});
