// The backend's logs over a whole run: JSON lines outside dev mode, with session id, identity, node url
// and generation as fields on the lines that matter (a node's transition, a session created, rebuilt),
// and not one secret, token, join token or rejoin key anywhere in them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import type { JoinResponse, RejoinResponse } from '../../src/contracts';
import { startRebuildStack, type RebuildStack } from '../support/rebuild-stack';
import { api, connect, join, OPERATOR_HEADERS, TEST_ADMIN_TOKEN } from '../support/session-client';

const AUTH_SECRET = 'logs-spec-auth-secret-0123456789abcdef';

interface LogLine {
  level: number;
  time: string;
  msg: string;
  context?: string;
  [field: string]: unknown;
}

describe('logs: structured, and nothing secret in them', () => {
  let stack: RebuildStack;
  beforeAll(async () => {
    stack = await startRebuildStack(2, { appEnv: { AUTH_SECRET } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a full run (joins, sockets, a rejoin, a node killed and rebuilt, refusals, a leave) logs JSON with fields and no secret', async () => {
    const url = stack.app.url;
    const joinToken = await new SignJWT({ sessions: 'logged', name: 'Ann' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(AUTH_SECRET));
    const ann: JoinResponse = await join(url, 'logged', 'Ann', {}, { authorization: `Bearer ${joinToken}` });
    const bob: JoinResponse = await join(url, 'logged', 'Bob', {}, OPERATOR_HEADERS);
    const sockets = [stack.track(await connect(url, ann)), stack.track(await connect(url, bob))];
    const rejoin = await api<RejoinResponse>(url, 'POST', `/api/sessions/logged/participants/${ann.identity}/rejoin`, {
      rejoinKey: ann.rejoinKey,
    });
    expect(rejoin.status).toBe(200);
    expect(
      (
        await api(url, 'POST', `/api/sessions/logged/participants/${ann.identity}/rejoin`, {
          rejoinKey: `${ann.rejoinKey}x`,
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await api(
          url,
          'POST',
          '/api/sessions/logged/participants',
          { name: 'Eve' },
          { authorization: 'Bearer forged.jwt.value' },
        )
      ).status,
    ).toBe(401);

    await stack.nodes.find((n) => n.url === ann.url)!.kill();
    const pushed = await Promise.all(sockets.map((s) => s.nextRejoin(ann.generation + 1, 10_000)));
    expect(
      (await api(url, 'DELETE', `/api/sessions/logged/participants/${bob.identity}`, { rejoinKey: bob.rejoinKey }))
        .status,
    ).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the leave's line written

    const output = stack.app.output();
    const secrets = {
      'the API secret': stack.apiSecret,
      'the admin token': TEST_ADMIN_TOKEN,
      'the auth secret': AUTH_SECRET,
      'the join token': joinToken,
      "Ann's rejoin key": ann.rejoinKey,
      "Bob's rejoin key": bob.rejoinKey,
      "Ann's token": ann.token,
      "Bob's token": bob.token,
      'the rejoin token': rejoin.body.token,
      ...Object.fromEntries(pushed.map((p, i) => [`pushed token ${i}`, p.token])),
    };
    const leaked = Object.entries(secrets).filter(
      ([, value]) => output.includes(value) || output.includes(value.split('.')[2] ?? value),
    );
    expect(leaked.map(([what]) => what)).toEqual([]);

    // JSON lines, but the start-up banner for people (session-rebuilder: app http://...).
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    expect(lines.filter((line) => !line.startsWith('{') && !line.startsWith('session-rebuilder: '))).toEqual([]);
    const logs = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
    expect(
      logs.every((l) => typeof l.level === 'number' && typeof l.time === 'string' && typeof l.msg === 'string'),
    ).toBe(true);

    const down = logs.find((l) => l.context === 'NodeHealthService' && l.to === 'down')!;
    expect(down).toMatchObject({ nodeUrl: ann.url, from: 'up', to: 'down' });
    const created = logs.find((l) => l.msg === `session logged created on ${ann.url}`)!;
    expect(created).toMatchObject({ sessionId: 'logged', nodeUrl: ann.url, generation: 1 });
    const rebuilt = logs.filter(
      (l) => l.context === 'SessionMoverService' && l.sessionId === 'logged' && /rebuilt/.test(l.msg),
    );
    expect(rebuilt).toHaveLength(1); // one line per rebuild
    expect(rebuilt[0]).toMatchObject({ fromUrl: ann.url, nodeUrl: pushed[0]!.url, generation: pushed[0]!.generation });
    expect(rebuilt[0]!.identities).toEqual(expect.arrayContaining([ann.identity, bob.identity]));
    expect(logs.find((l) => l.identity === bob.identity && /left for good/.test(l.msg))).toMatchObject({
      sessionId: 'logged',
    });
  }, 60_000);
});
