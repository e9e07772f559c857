// Invites nobody ever connects with cannot hold a session: they are forgotten once they had time to
// connect, unless the media node shows them connected, and a session takes only so many at once. Time
// is a FakeClock; the backend runs in this process over scripted nodes, which say who is connected
// (ListRooms, ListParticipants) whether or not webhooks arrive.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiErrorBody, JoinResponse } from '../../src/contracts';
import { FakeClock } from '../../src/common/fake-clock';
import { DEFAULT_MAX_UNCONFIRMED_INVITES as MAX_UNCONFIRMED_INVITES } from '../../src/config/app-config';
import { INVITE_CONFIRM_MS } from '../../src/sessions/session-policy';
import { SessionSweeperService } from '../../src/sessions/session-sweeper.service';
import { deliverPresence, InProcessApp, startInProcessApp } from '../support/in-process-app';
import { api, join, OPERATOR_HEADERS, operatorApi } from '../support/session-client';

type SessionsView = Array<{ sessionId: string; participants: Array<{ identity: string; state: string }> }>;

describe('invites that never connect', () => {
  const clock = new FakeClock(Date.now());
  let stack: InProcessApp;

  beforeAll(async () => {
    // --max-participants 1000: the cap on unconfirmed invites is below what a session may hold.
    stack = await startInProcessApp({ nodes: 2, clock, args: ['--max-participants', '1000'] });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Small steps, so the probe loop sees its nodes answer between ticks as with a real clock. */
  const advance = async (ms: number) => {
    for (let done = 0; done < ms; done += 250) {
      clock.advance(Math.min(250, ms - done));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const sweep = () => stack.app.get(SessionSweeperService).sweep();
  const participantsOf = async (sessionId: string) =>
    Object.fromEntries(
      (
        (await operatorApi<SessionsView>(stack.url, '/api/sessions')).body.find((s) => s.sessionId === sessionId)
          ?.participants ?? []
      ).map((p) => [p.identity, p.state]),
    );
  const webhook = (event: 'participant_joined' | 'participant_left', joined: JoinResponse) =>
    deliverPresence(stack, event, joined, Math.floor(clock.now() / 1000));
  const joinAs = (sessionId: string, name: string) =>
    api<JoinResponse & ApiErrorBody>(stack.url, 'POST', `/api/sessions/${sessionId}/participants`, { name });

  it('100 joins that never connect fill a session; once they had time to connect they are forgotten, and a new join gets in', async () => {
    // Ann connects and the node's webhook says so; Bob connects to a node that sends no webhooks.
    const ann = await join(stack.url, 'ghost', 'Ann', { room: { maxParticipants: 100 } }, OPERATOR_HEADERS);
    await webhook('participant_joined', ann);
    const bob = await join(stack.url, 'ghost', 'Bob');
    stack.nodes.connect(bob.url, 'ghost', bob.identity);
    const ghosts: JoinResponse[] = [];
    for (let i = 0; i < 98; i++) ghosts.push(await join(stack.url, 'ghost', `Ghost ${i}`));
    const refused = await joinAs('ghost', 'Late');
    expect([refused.status, refused.body.message]).toEqual([409, 'session ghost is full (100 participants)']);

    // Not before they had time to connect: the 98 are still there just before INVITE_CONFIRM_MS.
    await advance(INVITE_CONFIRM_MS - 1_000);
    await sweep();
    expect(Object.keys(await participantsOf('ghost'))).toHaveLength(100);

    await advance(2_000);
    await sweep();
    // The node showed Bob connected: kept (and counted as joined); Ann was confirmed by webhook.
    expect(await participantsOf('ghost')).toEqual({ [ann.identity]: 'joined', [bob.identity]: 'joined' });
    expect((await joinAs('ghost', 'Late')).status).toBe(201);
  });

  it('an invite issued again (a leaving participant coming back) has INVITE_CONFIRM_MS again; a confirmed one is never forgotten', async () => {
    const ann = await join(stack.url, 'again', 'Ann');
    stack.nodes.connect(ann.url, 'again', ann.identity);
    await webhook('participant_joined', ann);
    const carol = await join(stack.url, 'again', 'Carol');
    await webhook('participant_joined', carol);
    await webhook('participant_left', carol);
    await advance(5_000);
    expect(
      (
        await api(stack.url, 'POST', `/api/sessions/again/participants/${carol.identity}/rejoin`, {
          rejoinKey: carol.rejoinKey,
        })
      ).status,
    ).toBe(200);
    await advance(INVITE_CONFIRM_MS - 1_000);
    await sweep();
    expect(await participantsOf('again')).toEqual({ [ann.identity]: 'joined', [carol.identity]: 'invited' });
    // Carol did not connect this time: the room the node lists holds Ann only.
    await advance(2_000);
    await sweep();
    expect(await participantsOf('again')).toEqual({ [ann.identity]: 'joined' });
    await advance(10 * INVITE_CONFIRM_MS);
    await sweep();
    expect(await participantsOf('again')).toEqual({ [ann.identity]: 'joined' });
  });

  it(`a session takes at most ${MAX_UNCONFIRMED_INVITES} invites nobody has seen connect; 429 over it, until some connect`, async () => {
    const first: JoinResponse[] = [];
    for (let i = 0; i < MAX_UNCONFIRMED_INVITES; i++)
      first.push(await join(stack.url, 'burst', `P${i}`, { room: { maxParticipants: 1000 } }, OPERATOR_HEADERS));
    const over = await joinAs('burst', 'One more');
    expect([over.status, over.body.message]).toEqual([
      429,
      `session burst has ${MAX_UNCONFIRMED_INVITES} participants who have not connected yet; try again in a few seconds`,
    ]);
    await webhook('participant_joined', first[0]!);
    expect((await joinAs('burst', 'One more')).status).toBe(201);
  });
});

describe('--max-unconfirmed-invites', () => {
  it.each([
    [3, [201, 201, 201, 429]],
    [0, [201, 201, 201, 201, 201, 201]],
  ])('%i: joins answered %j (0: no cap)', async (cap, statuses) => {
    const stack = await startInProcessApp({ args: ['--max-unconfirmed-invites', String(cap)] });
    try {
      const answers: number[] = [];
      for (let i = 0; i < statuses.length; i++)
        answers.push((await api(stack.url, 'POST', '/api/sessions/storm/participants', { name: `P${i}` })).status);
      expect(answers).toEqual(statuses);
    } finally {
      await stack.close();
    }
  });
});
