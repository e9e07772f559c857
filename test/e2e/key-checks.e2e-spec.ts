// Checking a participant's rejoin key costs one participant, whatever the session's size, and a leave
// is rate-limited like the other keyed calls. The app runs in this process over scripted nodes, on a
// store that counts what each check reads.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import request from 'supertest';
import type { ApiErrorBody, JoinResponse } from '../../src/contracts';
import { SessionLocks } from '../../src/sessions/session-locks';
import type { SessionRecord } from '../../src/sessions/session.model';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import type { ParticipantView } from '../../src/sessions/store/session-store';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';
import { connect, scrapeMetrics } from '../support/session-client';

/** Every read of sessions, with the bytes of what it answered (as JSON). */
class CountingStore extends MemorySessionStore {
  reads: Array<{ method: string; bytes: number }> = [];

  private counted<T>(method: string, value: T): T {
    this.reads.push({ method, bytes: value === undefined ? 0 : JSON.stringify(value).length });
    return value;
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    return this.counted('get', await super.get(sessionId));
  }

  async list(): Promise<SessionRecord[]> {
    return this.counted('list', await super.list());
  }

  async participantView(sessionId: string, identity: string): Promise<ParticipantView | undefined> {
    const view = await super.participantView(sessionId, identity);
    // `version` is the participant as read, serialized: the same bytes again, not another read.
    this.counted('participantView', view && { session: view.session, participant: view.participant });
    return view;
  }

  bytesRead(): number {
    return this.reads.reduce((n, r) => n + r.bytes, 0);
  }
}

const PARTICIPANTS = 100;
const METADATA = 'm'.repeat(4096);
/** One participant with its 4 KiB of metadata and the session's record around it. */
const ONE_PARTICIPANT_BYTES = 6 * 1024;

describe('key checks read one participant; leaves are rate-limited', () => {
  const store = new CountingStore();
  let stack: InProcessApp;
  const people: JoinResponse[] = [];
  const path = (p: JoinResponse) => `/api/sessions/${p.sessionId}/participants/${p.identity}`;
  /** From an address of its own: the burst below is 100 clients, not one over --rate-limit. */
  const rejoin = (p: JoinResponse, i: number) =>
    request(stack.app.getHttpServer())
      .post(`${path(p)}/rejoin`)
      .set('x-forwarded-for', `192.0.2.${i + 1}`)
      .send({ rejoinKey: p.rejoinKey });

  beforeAll(async () => {
    stack = await startInProcessApp({ nodes: 2, store, args: ['--rate-limit', '5'] });
    // Joins from distinct addresses (127.0.0.1 is a trusted proxy), so the join budget is not the limit here.
    for (let i = 0; i < PARTICIPANTS; i++) {
      const res = await request(stack.app.getHttpServer())
        .post('/api/sessions/big/participants')
        .set('x-forwarded-for', `198.51.100.${i + 1}`)
        .send({ name: `P${i}`, metadata: METADATA })
        .expect(201);
      people.push(res.body as JoinResponse);
    }
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a wrong key on DELETE answers 401 up to --rate-limit a minute from one address, then 429', async () => {
    const victim = people[0]!;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await request(stack.app.getHttpServer())
        .delete(path(victim))
        .set('x-forwarded-for', '203.0.113.7')
        .send({ rejoinKey: `guess-${i}` });
      statuses.push(res.status);
      if (res.status === 429)
        expect((res.body as ApiErrorBody).message).toMatch(/^too many requests from this address: at most 5 a minute/);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(await scrapeMetrics(stack.url)).toMatch(/session_rebuilder_rate_limited_total\{route="leave"\} 3\n/);
  });

  it(`a key check on a session of ${PARTICIPANTS} participants with 4 KiB metadata each reads one participant`, async () => {
    const ann = people[1]!;
    const checks: Array<[string, () => Promise<unknown>]> = [
      [
        'DELETE, wrong key',
        async () =>
          expect(
            (
              await request(stack.app.getHttpServer())
                .delete(path(ann))
                .set('x-forwarded-for', '203.0.113.8')
                .send({ rejoinKey: 'wrong' })
            ).status,
          ).toBe(401),
      ],
      ['rejoin', async () => expect((await rejoin(ann, 200)).status).toBe(200)],
      ['socket handshake', async () => (await connect(stack.url, ann)).close()],
    ];
    for (const [what, check] of checks) {
      store.reads = [];
      await check();
      // What the check read, by method and size: one participant and the session's record around it.
      expect({ what, methods: [...new Set(store.reads.map((r) => r.method))] }).toEqual({
        what,
        methods: ['participantView'],
      });
      expect(store.bytesRead()).toBeLessThan(ONE_PARTICIPANT_BYTES);
    }
  });

  it(`a burst of ${PARTICIPANTS} rejoins takes no session lock; a leaving participant coming back takes it once`, async () => {
    const locks = stack.app.get(SessionLocks);
    const run = jest.spyOn(locks, 'run');
    try {
      const answers = await Promise.all(people.map((p, i) => rejoin(p, i)));
      expect(answers.map((a) => a.status)).toEqual(people.map(() => 200));
      expect(run).not.toHaveBeenCalled();

      // A participant the node saw leave: asking to come back ends its grace period, a change of state.
      const bob = people[2]!;
      const session = (await store.get('big'))!;
      session.participants[bob.identity]!.state = 'leaving';
      session.participants[bob.identity]!.leftAt = Date.now();
      await store.save(session);
      expect((await rejoin(bob, 201)).status).toBe(200);
      expect(run).toHaveBeenCalledTimes(1);
      expect((await store.get('big'))!.participants[bob.identity]!.state).toBe('invited');
    } finally {
      run.mockRestore();
    }
  });
});
