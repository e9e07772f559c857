// The sweep reads what can change, not every session: participants due (left, invites that had time to
// connect), rooms it watches, rooms their node lists empty or not at all. The app runs in this process
// over scripted nodes, on a store that counts the sessions each sweep reads; time is a FakeClock.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../src/common/fake-clock';
import { PARTICIPANT_LEFT_GRACE_MS } from '../../src/sessions/session-policy';
import { SessionSweeperService } from '../../src/sessions/session-sweeper.service';
import type { ParticipantRecord, SessionRecord } from '../../src/sessions/session.model';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import type { SweepView } from '../../src/sessions/store/session-store';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';

/** Counts the sessions read, by every read that returns whole sessions. */
class CountingStore extends MemorySessionStore {
  sessionsRead = 0;

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const session = await super.get(sessionId);
    if (session) this.sessionsRead++;
    return session;
  }

  async sweepView(sessionIds: readonly string[]): Promise<SweepView[]> {
    const views = await super.sweepView(sessionIds);
    this.sessionsRead += views.length;
    return views;
  }

  async list(): Promise<SessionRecord[]> {
    const sessions = await super.list();
    this.sessionsRead += sessions.length;
    return sessions;
  }
}

const SESSIONS = 1_000;
const PER_SESSION = 5;

describe('what a sweep reads', () => {
  const clock = new FakeClock(Date.now());
  const store = new CountingStore(clock);
  let stack: InProcessApp;
  /** Small steps, so the probe loop sees its nodes answer between ticks as with a real clock. */
  const advance = async (ms: number) => {
    for (let done = 0; done < ms; done += 250) {
      clock.advance(Math.min(250, ms - done));
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const sweep = async () => {
    store.sessionsRead = 0;
    const result = await stack.app.get(SessionSweeperService).sweep();
    return { ...result, sessionsRead: store.sessionsRead };
  };

  function record(sessionId: string, nodeUrl: string): SessionRecord {
    const participants: Record<string, ParticipantRecord> = {};
    for (let i = 0; i < PER_SESSION; i++) {
      const identity = `p${i}`;
      const grants = { canPublish: true, canSubscribe: true, canPublishData: true };
      participants[identity] = {
        identity,
        name: identity,
        metadata: '',
        grants,
        rejoinKeyHash: 'h',
        state: 'joined',
        invitedAt: clock.now(),
        joinedAt: clock.now(),
      };
    }
    const room = { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 0 };
    return {
      sessionId,
      room,
      nodeUrl,
      roomSid: `RM_${sessionId}`,
      generation: 1,
      waitingForNode: false,
      createdAt: clock.now(),
      seenOccupied: true,
      participants,
    };
  }

  beforeAll(async () => {
    stack = await startInProcessApp({ nodes: 2, clock, store });
    stack.app.get(SessionSweeperService).onModuleDestroy(); // its own schedule: only the sweeps below run
    for (let i = 0; i < SESSIONS; i++) {
      const id = `busy-${i}`;
      const url = stack.nodes.urls[i % 2]!;
      stack.nodes.rooms.get(url)!.set(id, { name: id, sid: `RM_${id}`, participants: PER_SESSION });
      await store.save(record(id, url));
    }
  });
  afterAll(async () => {
    await stack?.close();
  });

  it(`${SESSIONS} sessions with nothing due and their rooms occupied: none is read`, async () => {
    expect(await sweep()).toEqual({ prunedParticipants: 0, endedSessions: 0, sessionsRead: 0 });
  });

  it('one participant left: only its session is read, once its grace period is over', async () => {
    const session = (await store.get('busy-7'))!;
    session.participants.p0!.state = 'left';
    session.participants.p0!.leftAt = clock.now();
    await store.save(session);
    expect(await sweep()).toEqual({ prunedParticipants: 0, endedSessions: 0, sessionsRead: 0 });
    await advance(PARTICIPANT_LEFT_GRACE_MS);
    // Read as a copy to decide, then again under the lock to write.
    expect(await sweep()).toEqual({ prunedParticipants: 1, endedSessions: 0, sessionsRead: 2 });
    expect(Object.keys((await store.get('busy-7'))!.participants)).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect((await sweep()).sessionsRead).toBe(0);
  });

  it("a room its node lists empty: that session is read at every sweep until it is occupied again, or ends after the room's timeout", async () => {
    const url = stack.nodes.urls[3 % 2]!;
    stack.nodes.rooms.get(url)!.get('busy-3')!.participants = 0;
    stack.nodes.rooms.get(url)!.delete('busy-5');
    expect(await sweep()).toMatchObject({ endedSessions: 0, sessionsRead: 4 }); // emptySince written for both
    expect((await store.get('busy-3'))!.emptySince).toBe(clock.now());
    // Occupied again: read while watched, until the sweep has cleared emptySince.
    stack.nodes.rooms.get(url)!.get('busy-3')!.participants = 1;
    expect(await sweep()).toMatchObject({ sessionsRead: 3 }); // busy-3 decided and written, busy-5 read
    expect((await store.get('busy-3'))!.emptySince).toBeUndefined();
    await advance(60_000); // past the connect window after the last invite, then the room's departure timeout
    expect(await sweep()).toMatchObject({ endedSessions: 1, sessionsRead: 2 });
    expect(await store.get('busy-5')).toBeUndefined();
    expect((await sweep()).sessionsRead).toBe(0);
  });

  it('a room its node counts empty while it lists participants in it (LiveKit rewrites its count after the joins, and with 0 at each re-creation): not ended', async () => {
    const url = stack.nodes.urls[9 % 2]!;
    stack.nodes.connect(url, 'busy-9', 'p0');
    stack.nodes.rooms.get(url)!.get('busy-9')!.participants = 0;
    await sweep(); // emptySince written
    expect((await store.get('busy-9'))!.emptySince).toBe(clock.now());
    await advance(60_000); // past the room's departure timeout
    expect(await sweep()).toMatchObject({ endedSessions: 0 });
    const session = await store.get('busy-9');
    expect(session).toBeDefined();
    expect(session!.emptySince).toBeUndefined();
  });
});
