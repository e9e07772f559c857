import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../common/fake-clock';
import type { MetricsService } from '../observability/metrics.service';
import { ParticipantPresenceService } from './participant-presence.service';
import type { ParticipantRecord, SessionRecord } from './session.model';
import { LocalLease } from '../backplane/memory/local-lease';
import { SessionLocks } from './session-locks';
import type { RebuildScheduler } from './rebuild/rebuild-scheduler.service';
import { MemorySessionStore } from '../backplane/memory/memory-session-store';

/** The in-memory store, counting the writes a presence event makes. */
class CountingStore extends MemorySessionStore {
  saves = 0;
  replaces = 0;
  override async save(session: SessionRecord): Promise<void> {
    this.saves++;
    return super.save(session);
  }
  override async replaceParticipant(sessionId: string, participant: ParticipantRecord, version: string) {
    this.replaces++;
    return super.replaceParticipant(sessionId, participant, version);
  }
}

function participant(identity: string): ParticipantRecord {
  return {
    identity,
    name: identity,
    metadata: '',
    grants: { canPublish: true, canSubscribe: true, canPublishData: true },
    rejoinKeyHash: 'h',
    state: 'invited',
    invitedAt: 0,
  };
}

async function setup(size: number, extra: Partial<SessionRecord> = {}) {
  const store = new CountingStore();
  const locks = new SessionLocks(new LocalLease());
  const rebuilds = { isMoving: () => false } as unknown as RebuildScheduler;
  const presence = new ParticipantPresenceService(store, new FakeClock(), locks, rebuilds, {} as MetricsService);
  const participants = Object.fromEntries(Array.from({ length: size }, (_, i) => [`p${i}`, participant(`p${i}`)]));
  await store.save({
    sessionId: 'big',
    room: { metadata: '', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 0 },
    nodeUrl: 'ws://a:7880',
    roomSid: 'RM_new',
    generation: 1,
    waitingForNode: false,
    createdAt: 0,
    participants,
    ...extra,
  });
  store.saves = 0;
  return { store, locks, presence };
}

describe(ParticipantPresenceService.name, () => {
  it('a participant joining a session of 1,000 is one write of that participant, not a rewrite of the session', async () => {
    const { store, presence } = await setup(1_000);
    expect(await presence.joined('big', 'RM_new', 'p500', { connectionSid: 'PA_1', createdAt: 10 })).toBe('applied');
    expect([store.saves, store.replaces]).toEqual([0, 1]);
    const session = (await store.get('big'))!;
    expect([
      session.participants.p500?.state,
      session.participants.p500?.connectionSid,
      session.participants.p499?.state,
    ]).toEqual(['joined', 'PA_1', 'invited']);
    // Its leave, then a late duplicate of the join: the duplicate is stale, nothing written.
    expect(await presence.left('big', 'RM_new', 'p500', { connectionSid: 'PA_1', createdAt: 11 })).toBe('applied');
    expect(await presence.joined('big', 'RM_new', 'p500', { connectionSid: 'PA_1', createdAt: 10 })).toBe('ignored');
    expect([(await store.get('big'))!.participants.p500?.state, store.saves, store.replaces]).toEqual([
      'leaving',
      0,
      2,
    ]);
    presence.onModuleDestroy();
  });

  it("right after a rebuild (the new room's sid not known yet), events from the room left behind are ignored", async () => {
    const { store, presence } = await setup(2, { roomSid: '', formerRoomSids: ['RM_old'] });
    expect(await presence.left('big', 'RM_old', 'p0', { connectionSid: 'PA_0', createdAt: 10 })).toBe('ignored');
    expect(await presence.joined('big', 'RM_new', 'p0', { connectionSid: 'PA_9', createdAt: 11 })).toBe('applied');
    expect((await store.get('big'))!.participants.p0?.state).toBe('joined');
    presence.onModuleDestroy();
  });

  it('while another writer holds the session, the event waits for it and is applied after, not lost in its write', async () => {
    const { store, locks, presence } = await setup(3);
    let release!: () => void;
    // A writer (a rebuild, say) that read the session and will save its copy.
    const writer = locks.run('big', async () => {
      const copy = (await store.get('big'))!;
      await new Promise<void>((resolve) => (release = resolve));
      copy.generation = 2;
      await store.save(copy);
    });
    const event = presence.joined('big', 'RM_new', 'p1', { connectionSid: 'PA_1', createdAt: 10 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await writer;
    expect(await event).toBe('applied');
    const session = (await store.get('big'))!;
    expect([session.generation, session.participants.p1?.state]).toEqual([2, 'joined']);
    presence.onModuleDestroy();
  });
});
