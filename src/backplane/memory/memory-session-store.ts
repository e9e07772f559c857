import { Injectable } from '@nestjs/common';
import {
  activeParticipants,
  findParticipant,
  isUnconfirmedInvite,
  type ParticipantRecord,
  type SessionRecord,
} from '../../sessions/session.model';
import { type Clock, SystemClock } from '../../common/clock';
import { dueKey, parseDueKey, sweepTimer, watchesRoom } from '../../sessions/sweep-deadlines';
import { DeadlineIndex } from './deadline-index';
import type {
  AddOutcome,
  DueParticipant,
  NodeLoadCount,
  ParticipantView,
  ReplaceOutcome,
  RoomSidOutcome,
  SessionPlacement,
  SessionStore,
  SweepView,
} from '../../sessions/store/session-store';

/** What one record adds to its node's load; a session waiting for a node adds nothing anywhere. */
function contribution(session: SessionRecord): { url: string; participants: number } | undefined {
  return session.waitingForNode
    ? undefined
    : { url: session.nodeUrl, participants: activeParticipants(session).length };
}

/** The embedded default: one process, nothing lost while it lives. */
@Injectable()
export class MemorySessionStore implements SessionStore {
  /** `<session> <node url>` -> identity -> when it reported its media path lost. */
  private readonly lossReports = new Map<string, Map<string, number>>();
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly loads = new Map<string, NodeLoadCount>();
  /** Participants who have not left, per session: kept by the writes, so a join never counts them. */
  private readonly active = new Map<string, number>();
  /** Unconfirmed invites per session (isUnconfirmedInvite), kept the same way. */
  private readonly unconfirmed = new Map<string, number>();
  /** What the sweep looks for, kept by the writes (sweep-deadlines.ts): it reads what is due, not every session. */
  private readonly due = new DeadlineIndex();
  /** The stamp each deadline in `due` was started for. */
  private readonly stamps = new Map<string, string>();
  private readonly byNode = new Map<string, Set<string>>();
  private readonly watched = new Set<string>();
  private readonly waiting = new Set<string>();

  /** `clock`: the app's (CLOCK), on which the sweep's deadlines run; a spec's FakeClock moves them. */
  constructor(private readonly clock: Clock = new SystemClock()) {}

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(sessionId);
    return session ? structuredClone(session) : undefined;
  }

  async save(session: SessionRecord): Promise<void> {
    this.put(session);
  }

  async setRoomSid(
    sessionId: string,
    { generation, nodeUrl }: { generation: number; nodeUrl: string },
    sid: string,
  ): Promise<RoomSidOutcome> {
    const session = this.sessions.get(sessionId);
    if (!session || session.generation !== generation || session.nodeUrl !== nodeUrl || session.roomSid) return 'stale';
    session.roomSid = sid;
    return 'set';
  }

  async getMany(sessionIds: readonly string[]): Promise<Array<SessionRecord | undefined>> {
    return Promise.all(sessionIds.map((id) => this.get(id)));
  }

  async saveMany(sessions: readonly SessionRecord[]): Promise<Array<Error | undefined>> {
    for (const session of sessions) this.put(session);
    return sessions.map(() => undefined);
  }

  private put(session: SessionRecord): void {
    const old = this.sessions.get(session.sessionId);
    this.count(old, -1);
    const copy = structuredClone(session);
    this.sessions.set(session.sessionId, copy);
    this.active.set(session.sessionId, activeParticipants(copy).length);
    this.unconfirmed.set(session.sessionId, Object.values(copy.participants).filter(isUnconfirmedInvite).length);
    this.count(copy, +1);
    this.reindex(old, copy);
  }

  async placement(sessionId: string): Promise<SessionPlacement | undefined> {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    const { nodeUrl, generation, waitingForNode } = session;
    return {
      nodeUrl,
      generation,
      waitingForNode,
      maxParticipants: session.room.maxParticipants,
      activeParticipants: this.active.get(sessionId) ?? 0,
    };
  }

  // No await before the write: the checks and the write happen in one turn of the event loop.
  async addParticipant(
    sessionId: string,
    participant: ParticipantRecord,
    downNodes: readonly string[] = [],
    maxUnconfirmed = 0,
  ): Promise<AddOutcome> {
    const session = this.sessions.get(sessionId);
    if (!session) return { outcome: 'missing' };
    if (session.waitingForNode) return { outcome: 'waiting' };
    if (downNodes.includes(session.nodeUrl)) return { outcome: 'node-down', nodeUrl: session.nodeUrl };
    const active = this.active.get(sessionId) ?? 0;
    if (session.room.maxParticipants > 0 && active >= session.room.maxParticipants) return { outcome: 'full' };
    const unconfirmed = this.unconfirmed.get(sessionId) ?? 0;
    const newcomerUnconfirmed = isUnconfirmedInvite(participant);
    if (newcomerUnconfirmed && maxUnconfirmed > 0 && unconfirmed >= maxUnconfirmed)
      return { outcome: 'too-many-unconfirmed' };
    if (findParticipant(session, participant.identity)) return { outcome: 'taken' };
    session.participants[participant.identity] = structuredClone(participant);
    this.indexParticipant(sessionId, participant);
    if (newcomerUnconfirmed) this.unconfirmed.set(sessionId, unconfirmed + 1);
    const added = {
      outcome: 'added' as const,
      nodeUrl: session.nodeUrl,
      generation: session.generation,
      ...(!session.roomSid && { room: structuredClone(session.room) }),
    };
    if (participant.state === 'left') return added;
    this.active.set(sessionId, active + 1);
    const load = this.loads.get(session.nodeUrl);
    if (load) load.participants += 1;
    return added;
  }

  async participantView(sessionId: string, identity: string): Promise<ParticipantView | undefined> {
    const session = this.sessions.get(sessionId);
    const participant = session && findParticipant(session, identity);
    if (!session || !participant) return undefined;
    const { participants: _others, ...rest } = session;
    return {
      session: structuredClone(rest),
      participant: structuredClone(participant),
      version: JSON.stringify(participant),
    };
  }

  // One turn of the event loop, like addParticipant; the caller has checked its lock just before.
  async replaceParticipant(
    sessionId: string,
    participant: ParticipantRecord,
    version: string,
  ): Promise<ReplaceOutcome> {
    const session = this.sessions.get(sessionId);
    const current = session && findParticipant(session, participant.identity);
    if (!session || !current) return 'missing';
    if (JSON.stringify(current) !== version) return 'changed';
    session.participants[participant.identity] = structuredClone(participant);
    this.indexParticipant(sessionId, participant);
    const delta = Number(isUnconfirmedInvite(participant)) - Number(isUnconfirmedInvite(current));
    if (delta !== 0) this.unconfirmed.set(sessionId, (this.unconfirmed.get(sessionId) ?? 0) + delta);
    return 'replaced';
  }

  async delete(sessionId: string): Promise<void> {
    this.count(this.sessions.get(sessionId), -1);
    this.reindex(this.sessions.get(sessionId), undefined);
    this.sessions.delete(sessionId);
    this.active.delete(sessionId);
    this.unconfirmed.delete(sessionId);
  }

  async list(): Promise<SessionRecord[]> {
    return [...this.sessions.values()].map((session) => structuredClone(session));
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  async recordLossReport(sessionId: string, nodeUrl: string, identity: string, windowMs: number): Promise<number> {
    const key = `${sessionId} ${nodeUrl}`;
    const now = this.clock.now();
    const reports = this.lossReports.get(key) ?? new Map<string, number>();
    reports.set(identity, now);
    for (const [who, at] of reports) if (now - at >= windowMs) reports.delete(who);
    // Reports of sessions nobody asks about again go too (a map per reported node, bounded by the window).
    for (const [other, byIdentity] of this.lossReports)
      if ([...byIdentity.values()].every((at) => now - at >= windowMs)) this.lossReports.delete(other);
    this.lossReports.set(key, reports);
    return reports.size;
  }

  async sweepView(sessionIds: readonly string[]): Promise<SweepView[]> {
    return this.copies(sessionIds).map((session) => {
      const deadlines: Record<string, number> = {};
      for (const p of Object.values(session.participants)) {
        const key = dueKey(session.sessionId, p.identity);
        const deadline = this.due.get(key);
        if (deadline !== undefined && this.stamps.get(key) === sweepTimer(p)?.stamp) deadlines[p.identity] = deadline;
      }
      return { session, deadlines };
    });
  }

  async listWaiting(): Promise<SessionRecord[]> {
    return this.copies([...this.waiting]);
  }

  async dueParticipants(now: number, limit: number): Promise<DueParticipant[]> {
    return this.due.due(now, limit).map(parseDueKey);
  }

  async sessionIdsOn(nodeUrl: string): Promise<string[]> {
    return [...(this.byNode.get(nodeUrl) ?? [])];
  }

  async watchedSessionIds(): Promise<string[]> {
    return [...this.watched];
  }

  async loadByNode(): Promise<Map<string, NodeLoadCount>> {
    return new Map([...this.loads].map(([url, load]) => [url, { ...load }]));
  }

  private copies(sessionIds: readonly string[]): SessionRecord[] {
    return sessionIds.flatMap((id) => {
      const session = this.sessions.get(id);
      return session ? [structuredClone(session)] : [];
    });
  }

  /** The indexes go from `old` (the record replaced, if any) to `next` (undefined: deleted). */
  private reindex(old: SessionRecord | undefined, next: SessionRecord | undefined): void {
    if (old) {
      for (const identity of Object.keys(old.participants)) {
        if (next && findParticipant(next, identity)) continue;
        this.due.delete(dueKey(old.sessionId, identity));
        this.stamps.delete(dueKey(old.sessionId, identity));
      }
      const onNode = this.byNode.get(old.nodeUrl);
      onNode?.delete(old.sessionId);
      if (onNode?.size === 0) this.byNode.delete(old.nodeUrl);
      this.watched.delete(old.sessionId);
      this.waiting.delete(old.sessionId);
    }
    if (!next) return;
    for (const p of Object.values(next.participants)) this.indexParticipant(next.sessionId, p);
    const onNode = this.byNode.get(next.nodeUrl) ?? new Set<string>();
    this.byNode.set(next.nodeUrl, onNode.add(next.sessionId));
    if (watchesRoom(next)) this.watched.add(next.sessionId);
    if (next.waitingForNode) this.waiting.add(next.sessionId);
  }

  /** Its timer keeps its deadline while the stamp is the same; a new stamp starts it on this store's clock. */
  private indexParticipant(sessionId: string, participant: ParticipantRecord): void {
    const key = dueKey(sessionId, participant.identity);
    const timer = sweepTimer(participant);
    if (!timer) {
      this.due.delete(key);
      this.stamps.delete(key);
    } else if (this.stamps.get(key) !== timer.stamp || this.due.get(key) === undefined) {
      this.stamps.set(key, timer.stamp);
      this.due.set(key, this.clock.now() + timer.afterMs);
    }
  }

  private count(session: SessionRecord | undefined, sign: 1 | -1): void {
    const part = session && contribution(session);
    if (!part) return;
    const load = this.loads.get(part.url) ?? { sessions: 0, participants: 0 };
    load.sessions += sign;
    load.participants += sign * part.participants;
    if (load.sessions === 0) this.loads.delete(part.url);
    else this.loads.set(part.url, load);
  }
}
