import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CLOCK, Clock, TimerHandle } from '../common/clock';
import { LIVEKIT_ROOM_API, LiveKitRoomApi } from '../nodes/livekit-room.api';
import { NodeHealthService } from '../nodes/node-health.service';
import { MetricsService } from '../observability/metrics.service';
import { SESSION_STORE, SessionStore, type SweepView } from './store/session-store';
import { activeParticipants, ParticipantRecord, SessionRecord } from './session.model';
import { SessionLocks } from './session-locks';
import { CONNECT_WINDOW_MS, INVITE_CONFIRM_MS, SWEEP_INTERVAL_MS } from './session-policy';
import { RebuildScheduler } from './rebuild/rebuild-scheduler.service';
import { sweepTimer } from './sweep-deadlines';

export interface SweepResult {
  prunedParticipants: number;
  endedSessions: number;
}

/** room name -> participants, per node that answered ListRooms in this sweep. */
type Occupancy = Map<string, Map<string, number>>;

/** Sessions read and decided between two turns of the event loop. */
const SWEEP_BATCH = 100;
/** Due participants one sweep takes up; a backlog beyond it (the sweep stopped for a while) goes over the next sweeps. */
const SWEEP_MAX_DUE = 10_000;

/**
 * Who is in the session's room, as its node tells: identities (an empty set when the room is empty or
 * gone), or undefined when the node gave no answer (down, unreachable, the session waits for a node).
 */
type Connected = Set<string> | undefined;

/**
 * What the sweep does with one participant: nothing, forget it, or record that its node has it
 * connected. Time is the store's, as the deadlines: `now` and `deadline` (its sweepTimer's, if any)
 * come from it; the record's own timestamps were written on other instances' clocks.
 */
function fate(
  p: ParticipantRecord,
  now: number,
  deadline: number | undefined,
  connected: () => Connected,
): 'keep' | 'forget' | 'confirm' {
  if (deadline === undefined || now < deadline) return 'keep';
  if (p.state === 'left' || p.state === 'leaving') return 'forget';
  if (p.state !== 'invited') return 'keep';
  // No rejoin key and never confirmed: its token has expired, nobody can come back as it.
  if (p.expiresAt !== undefined && now - invitedAt(p, deadline) >= p.expiresAt - p.invitedAt) return 'forget';
  // Time enough to connect and no webhook said so: the node's room decides, when it answered.
  const present = connected();
  if (!present) return 'keep';
  return present.has(p.identity) ? 'confirm' : 'forget';
}

/** When its timer started, on the store's clock: for an invite, when it was issued. */
function invitedAt(p: ParticipantRecord, deadline: number): number {
  return deadline - (sweepTimer(p)?.afterMs ?? 0);
}

function inviteDue({ session, deadlines }: SweepView, now: number): boolean {
  return Object.values(session.participants).some(
    (p) => p.state === 'invited' && now >= (deadlines[p.identity] ?? Infinity),
  );
}

/**
 * Nothing in the registry grows forever: participants who left are forgotten after the grace period,
 * key-less participants when their token expires, invites nobody saw connect after INVITE_CONFIRM_MS
 * (unless the node's room has them: then they count as joined), and a session ends when its node has
 * reported its room empty (or gone) for the room's own timeout, whether or not webhooks arrive.
 */
@Injectable()
export class SessionSweeperService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SessionSweeperService.name);
  private timer?: TimerHandle;
  private stopped = false;

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LIVEKIT_ROOM_API) private readonly rooms: LiveKitRoomApi,
    private readonly health: NodeHealthService,
    private readonly locks: SessionLocks,
    private readonly rebuilds: RebuildScheduler,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
  }

  /**
   * Reads only what can change: sessions with a participant due (the store's index of deadlines), those
   * whose room is watched, and those whose node lists their room empty or not at all. Every session and
   * participant, every 5 s on every instance, was most of a second at 10,000 sessions (bench:sweep).
   */
  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { prunedParticipants: 0, endedSessions: 0 };
    // Sessions still on a node known down (a herd the store failed, one that ran on a dead instance).
    await this.rebuilds.rebuildStranded();
    const occupancy = await this.occupancy();
    // Once per sweep, from the store: the clock its deadlines run on, whichever instance wrote them.
    const now = await this.store.now();
    const ids = [...(await this.candidates(now, occupancy))].filter((id) => !this.rebuilds.isMoving(id));
    for (let i = 0; i < ids.length; i += SWEEP_BATCH) {
      // Other work runs between batches: a sweep with much to do holds the event loop a batch at a time.
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const listed of await this.store.sweepView(ids.slice(i, i + SWEEP_BATCH))) {
        const { sessionId } = listed.session;
        // Decided first on the copy read: a session with nothing to change is not locked at all (a
        // lock per session per sweep would hold up its lock-free joins every 5 s).
        const connected = await this.connectedIn(listed, now, occupancy);
        if (!this.plan(listed, now, occupancy, connected).changes) continue;
        const outcome = await this.locks.run(sessionId, () => this.sweepSession(sessionId, now, occupancy, connected));
        result.prunedParticipants += outcome.pruned;
        if (outcome.ended) result.endedSessions++;
      }
    }
    if (result.prunedParticipants + result.endedSessions > 0) {
      this.logger.log(
        `sweep: ${result.prunedParticipants} participant(s) forgotten, ${result.endedSessions} session(s) ended`,
      );
    }
    return result;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.sweep()
        .catch((error: unknown) => this.metrics.backgroundFailure('sweep', error, this.logger))
        .finally(() => this.schedule());
    }, SWEEP_INTERVAL_MS);
  }

  /** The sessions this sweep reads: the others have nothing due and a room their node lists occupied. */
  private async candidates(now: number, occupancy: Occupancy): Promise<Set<string>> {
    const ids = new Set<string>();
    const due = await this.store.dueParticipants(now, SWEEP_MAX_DUE);
    for (const { sessionId } of due) ids.add(sessionId);
    const watched = await this.store.watchedSessionIds();
    for (const id of watched) ids.add(id);
    let emptyRooms = 0;
    for (const [url, rooms] of occupancy) {
      for (const id of await this.store.sessionIdsOn(url)) {
        if ((rooms.get(id) ?? 0) > 0) continue;
        ids.add(id);
        emptyRooms++;
      }
    }
    this.logger.debug(
      `sweep: ${ids.size} session(s) to read: ${due.length} participant(s) due, ${watched.length} room(s) watched, ${emptyRooms} empty or gone`,
    );
    return ids;
  }

  /** One ListRooms per up node; a node that does not answer gives no evidence either way. */
  private async occupancy(): Promise<Occupancy> {
    const occupancy: Occupancy = new Map();
    await Promise.all(
      this.health.placeableUrls().map(async (url) => {
        try {
          const rooms = await this.rooms.listRooms(url);
          occupancy.set(url, new Map(rooms.map((room) => [room.name, room.participants])));
        } catch (error) {
          this.logger.debug(
            `sweep: ListRooms on ${url} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }),
    );
    return occupancy;
  }

  /**
   * Who the session's node has in its room, asked only when an invite is due: ListRooms already says
   * how many (none: nobody to ask about); ListParticipants says who.
   */
  private async connectedIn(view: SweepView, now: number, occupancy: Occupancy): Promise<Connected> {
    const { session } = view;
    if (!inviteDue(view, now)) return undefined;
    const rooms = session.waitingForNode ? undefined : occupancy.get(session.nodeUrl);
    if (!rooms) return undefined;
    if ((rooms.get(session.sessionId) ?? 0) === 0) return new Set();
    const listed = await this.listedIn(session);
    return listed && new Set(listed);
  }

  /** The identities the session's node lists in its room (ListParticipants); undefined when it does not answer. */
  private async listedIn(session: SessionRecord): Promise<string[] | undefined> {
    try {
      return await this.rooms.listParticipants(session.nodeUrl, session.sessionId);
    } catch (error) {
      this.logger.debug(
        `sweep: ListParticipants ${session.sessionId} on ${session.nodeUrl} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }

  private async sweepSession(
    sessionId: string,
    now: number,
    occupancy: Occupancy,
    connected: Connected,
  ): Promise<{ pruned: number; ended: boolean }> {
    const [view] = await this.store.sweepView([sessionId]);
    if (!view) return { pruned: 0, ended: false };
    const { session } = view;
    const planned = this.plan(view, now, occupancy, connected);
    const { gone, confirmed } = planned;
    let { why, emptyChanged } = planned;
    if (why !== undefined && session.emptySince !== undefined && activeParticipants(session).length > 0) {
      // About to end on the node's count alone, which lags: LiveKit's count is its room record's, rewritten
      // up to 5 s after the joins (roomUpdateInterval) and written anew with 0 each time the room is created
      // again, at every move in its cluster (sessions moved every few seconds there were ended while everyone
      // was in them: bench:agents). Its participant list, written at each join and leave, has the last
      // word; no answer, no end this sweep.
      const present = (await this.listedIn(session))?.length;
      if (present !== 0) why = undefined;
      if (present !== undefined && present > 0) {
        session.emptySince = undefined;
        session.seenOccupied = true;
        emptyChanged = true;
        this.logger.log({
          msg: `session ${sessionId}: its node counted its room empty, yet lists ${present} participant(s) in it; not ended`,
          sessionId,
          nodeUrl: session.nodeUrl,
        });
      }
    }
    const invites = gone.filter((p) => p.state === 'invited' && p.expiresAt === undefined).length;
    if (invites > 0)
      this.logger.log({
        msg: `session ${sessionId}: ${invites} invite(s) never seen connected within ${INVITE_CONFIRM_MS} ms; forgotten`,
        sessionId,
      });
    if (why) {
      await this.store.delete(sessionId);
      this.logger.log(`session ${sessionId} ended: ${why}`);
      return { pruned: gone.length, ended: true };
    }
    if (gone.length > 0 || confirmed > 0 || emptyChanged) await this.store.save(session);
    return { pruned: gone.length, ended: false };
  }

  /** Applies the sweep to the session read (a copy): who is forgotten or confirmed, what the node says, whether it ends. */
  private plan(
    { session, deadlines }: SweepView,
    now: number,
    occupancy: Occupancy,
    connected: Connected,
  ): { gone: ParticipantRecord[]; confirmed: number; emptyChanged: boolean; why?: string; changes: boolean } {
    const gone: ParticipantRecord[] = [];
    let confirmed = 0;
    for (const p of Object.values(session.participants)) {
      const decided = fate(p, now, deadlines[p.identity], () => connected);
      if (decided === 'forget') {
        gone.push(p);
        delete session.participants[p.identity];
      } else if (decided === 'confirm') {
        // The node has it connected though no webhook said so (a node without webhooks, one lost).
        p.state = 'joined';
        p.joinedAt = now;
        confirmed++;
      }
    }
    const emptyChanged = this.updateEmptiness(session, now, occupancy);
    const why = this.endReason(session, deadlines, now);
    return {
      gone,
      confirmed,
      emptyChanged,
      why,
      changes: gone.length > 0 || confirmed > 0 || emptyChanged || why !== undefined,
    };
  }

  /** Records what the session's node says about its room; answers whether the record changed. */
  private updateEmptiness(session: SessionRecord, now: number, occupancy: Occupancy): boolean {
    const rooms = session.waitingForNode ? undefined : occupancy.get(session.nodeUrl);
    if (!rooms) return false;
    const inRoom = rooms.get(session.sessionId) ?? 0;
    if (inRoom > 0) {
      const changed = session.emptySince !== undefined || !session.seenOccupied;
      session.emptySince = undefined;
      session.seenOccupied = true;
      return changed;
    }
    if (session.emptySince !== undefined) return false;
    session.emptySince = now;
    return true;
  }

  /** `emptySince` and `now` are on the store's clock, and so are the invites' deadlines. */
  private endReason(session: SessionRecord, deadlines: SweepView['deadlines'], now: number): string | undefined {
    if (activeParticipants(session).length === 0) return 'nobody left in it';
    if (session.emptySince === undefined) return undefined;
    // A fresh invite (a join, a rejoin, a rebuild's move) restarts the wait: someone holding a new token is about to connect.
    const invites = Object.values(session.participants).filter(
      (p) => p.state === 'invited' && deadlines[p.identity] !== undefined,
    );
    const lastInvite = Math.max(-Infinity, ...invites.map((p) => invitedAt(p, deadlines[p.identity]!)));
    const emptyFor = now - Math.max(session.emptySince, lastInvite + CONNECT_WINDOW_MS);
    const joinedOnce =
      session.seenOccupied || Object.values(session.participants).some((p) => p.joinedAt !== undefined);
    const limitSec = joinedOnce ? session.room.departureTimeoutSec : session.room.emptyTimeoutSec;
    return emptyFor >= limitSec * 1000
      ? `its node reported the room empty for ${Math.round(emptyFor / 1000)} s`
      : undefined;
  }
}
