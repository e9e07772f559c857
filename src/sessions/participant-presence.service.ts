import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { CLOCK, Clock, TimerHandle } from '../common/clock';
import { SESSION_STORE, SessionStore } from './store/session-store';
import { activeParticipants, findParticipant, ParticipantRecord, SessionRecord } from './session.model';
import { SessionLocks } from './session-locks';
import { busyRetries, INVITE_PRESENCE_MS, PARTICIPANT_LEFT_GRACE_MS } from './session-policy';
import { RebuildScheduler } from './rebuild/rebuild-scheduler.service';
import { MetricsService } from '../observability/metrics.service';

export type PresenceOutcome = 'applied' | 'ignored';

/** What a presence webhook says about the connection: which one, and when LiveKit saw it. */
export interface PresenceEvent {
  /** LiveKit's participant sid: new for every connection of the same identity. */
  connectionSid: string;
  /** The webhook's createdAt, Unix seconds (LiveKit's own resolution). */
  createdAt: number;
}

/**
 * Webhooks may arrive late, retried or out of order. An event older than the newest one applied, or a
 * join of a connection whose leave was already applied, says nothing about now.
 */
function isStale(participant: ParticipantRecord, event: PresenceEvent, kind: 'joined' | 'left'): boolean {
  if (participant.lastEventAt !== undefined && event.createdAt < participant.lastEventAt) return true;
  if (!event.connectionSid) return false;
  if (kind === 'joined') return event.connectionSid === participant.departedSid;
  // A leave of a connection other than the one last seen joining: an older connection's late goodbye.
  return participant.connectionSid !== undefined && participant.connectionSid !== event.connectionSid;
}

/**
 * Events from a room the session no longer lives in (an old node coming back) say nothing about now.
 * Right after a rebuild the new room's sid is not known yet: then only the rooms left behind are stale.
 */
function isFormerRoom(session: Pick<SessionRecord, 'roomSid' | 'formerRoomSids'>, roomSid: string): boolean {
  if (!roomSid) return false;
  return session.roomSid ? session.roomSid !== roomSid : session.formerRoomSids?.includes(roomSid) === true;
}

/** Keeps the registry true to what the media server confirms (fed by verified webhooks). */
@Injectable()
export class ParticipantPresenceService implements OnModuleDestroy {
  private readonly logger = new Logger(ParticipantPresenceService.name);
  private readonly graceTimers = new Map<string, TimerHandle>();

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly locks: SessionLocks,
    private readonly rebuilds: RebuildScheduler,
    private readonly metrics: MetricsService,
  ) {}

  onModuleDestroy(): void {
    for (const timer of this.graceTimers.values()) this.clock.clearTimeout(timer);
    this.graceTimers.clear();
  }

  joined(sessionId: string, roomSid: string, identity: string, event: PresenceEvent): Promise<PresenceOutcome> {
    return this.updateParticipant(
      sessionId,
      roomSid,
      identity,
      (participant) => {
        if (participant.state === 'left' || isStale(participant, event, 'joined')) return false;
        participant.state = 'joined';
        participant.joinedAt = this.clock.now();
        participant.leftAt = undefined;
        participant.connectionSid = event.connectionSid || undefined;
        participant.lastEventAt = event.createdAt;
        return true;
      },
      () => this.cancelGrace(sessionId, identity),
    );
  }

  /** Not during a rebuild (everyone leaves the old room then), and never for a stale room. */
  left(sessionId: string, roomSid: string, identity: string, event: PresenceEvent): Promise<PresenceOutcome> {
    if (this.rebuilds.isMoving(sessionId)) return Promise.resolve('ignored');
    let leftAt = 0;
    return this.updateParticipant(
      sessionId,
      roomSid,
      identity,
      (participant) => {
        if (participant.state === 'left' || participant.state === 'leaving' || isStale(participant, event, 'left'))
          return false;
        participant.state = 'leaving';
        participant.leftAt = leftAt = this.clock.now();
        participant.departedSid = event.connectionSid || undefined;
        participant.lastEventAt = event.createdAt;
        return true;
      },
      () => this.startGrace(sessionId, identity, leftAt),
    );
  }

  /**
   * One participant's presence, changed by `change` (false: the event changes nothing). Written alone,
   * without the lock and without reading or rewriting the others (a node's herd brings a webhook per
   * participant, and a session of 1,000 would rewrite 1,000 records for each); a write someone made in
   * between is read again. Under the lock while another writer holds the session.
   */
  private async updateParticipant(
    sessionId: string,
    roomSid: string,
    identity: string,
    change: (participant: ParticipantRecord) => boolean,
    applied: () => void,
  ): Promise<PresenceOutcome> {
    const retryWhileBusy = busyRetries();
    while (!this.locks.blocksLockFreeWrites(sessionId)) {
      const view = await this.store.participantView(sessionId, identity);
      if (!view || isFormerRoom(view.session, roomSid) || !change(view.participant)) return 'ignored';
      // Checked again right before the write: in memory, a writer may have taken the lock meanwhile.
      if (this.locks.blocksLockFreeWrites(sessionId)) break;
      const outcome = await this.store.replaceParticipant(sessionId, view.participant, view.version);
      if (outcome === 'replaced') {
        applied();
        return 'applied';
      }
      if (outcome === 'missing') return 'ignored';
      if (outcome === 'busy' && !(await retryWhileBusy())) break;
    }
    return this.locks.run(sessionId, async () => {
      const session = await this.currentRoom(sessionId, roomSid);
      const participant = session && findParticipant(session, identity);
      if (!session || !participant || !change(participant)) return 'ignored';
      await this.store.save(session);
      applied();
      return 'applied';
    });
  }

  /** LiveKit closed the room: the session ends when nobody is in it or about to join it. */
  roomFinished(sessionId: string, roomSid: string): Promise<PresenceOutcome> {
    return this.locks.run(sessionId, async () => {
      const session = await this.currentRoom(sessionId, roomSid);
      if (!session || this.rebuilds.isMoving(sessionId)) return 'ignored';
      const now = this.clock.now();
      const present = Object.values(session.participants).some(
        (p) => p.state === 'joined' || (p.state === 'invited' && now - p.invitedAt < INVITE_PRESENCE_MS),
      );
      if (present) return 'ignored';
      await this.store.delete(sessionId);
      this.logger.log(`session ${sessionId} ended: room finished and empty`);
      return 'applied';
    });
  }

  private async currentRoom(sessionId: string, roomSid: string): Promise<SessionRecord | undefined> {
    const session = await this.store.get(sessionId);
    return session && !isFormerRoom(session, roomSid) ? session : undefined;
  }

  private startGrace(sessionId: string, identity: string, leftAt: number): void {
    this.cancelGrace(sessionId, identity);
    const key = `${sessionId}\u0000${identity}`;
    this.graceTimers.set(
      key,
      this.clock.setTimeout(() => {
        this.graceTimers.delete(key);
        this.expire(sessionId, identity, leftAt).catch((error: unknown) =>
          this.metrics.backgroundFailure('grace-expiry', error, this.logger),
        );
      }, PARTICIPANT_LEFT_GRACE_MS),
    );
  }

  private cancelGrace(sessionId: string, identity: string): void {
    const key = `${sessionId}\u0000${identity}`;
    const timer = this.graceTimers.get(key);
    if (timer) this.clock.clearTimeout(timer);
    this.graceTimers.delete(key);
  }

  private expire(sessionId: string, identity: string, leftAt: number): Promise<void> {
    return this.locks.run(sessionId, async () => {
      const session = await this.store.get(sessionId);
      const participant = session && findParticipant(session, identity);
      if (!session || !participant || participant.state !== 'leaving' || participant.leftAt !== leftAt) return;
      // The grace period is over: forgotten at once (a later rejoin is an unknown participant).
      delete session.participants[identity];
      this.logger.log({
        msg: `session ${sessionId}: ${identity} did not come back within ${PARTICIPANT_LEFT_GRACE_MS} ms; forgotten`,
        sessionId,
        identity,
      });
      if (activeParticipants(session).length === 0) await this.store.delete(sessionId);
      else await this.store.save(session);
    });
  }
}
