import type { NodeLoadCount, NodeLoadSource } from '../../nodes/node-load.source';
import type { ParticipantRecord, RoomSettings, SessionHead, SessionRecord } from '../session.model';

export type { NodeLoadCount };

export const SESSION_STORE = Symbol('SessionStore');

/** Where a session stands, without its participants: what a join needs, whatever the session's size. */
export interface SessionPlacement {
  nodeUrl: string;
  generation: number;
  waitingForNode: boolean;
  maxParticipants: number;
  /** Participants who have not left. */
  activeParticipants: number;
}

/** `added` names where the participant now is; anything else changed nothing. */
export type AddOutcome =
  /** `room`: the session's room settings, while no room sid is known (the room may not exist yet on its node). */
  | { outcome: 'added'; nodeUrl: string; generation: number; room?: RoomSettings }
  | { outcome: 'node-down'; nodeUrl: string }
  | { outcome: 'taken' | 'missing' | 'waiting' | 'full' | 'too-many-unconfirmed' | 'busy' };

/** One participant and where its session stands, read without the other participants (a presence webhook's view). */
export interface ParticipantView {
  session: SessionHead;
  participant: ParticipantRecord;
  /** What `replaceParticipant` compares against: the participant as read. */
  version: string;
}

export interface SweepView {
  session: SessionRecord;
  /** identity -> when its sweepTimer falls, on the store's clock; only for timers that match the participant as read. */
  deadlines: Record<string, number>;
}

export interface DueParticipant {
  sessionId: string;
  identity: string;
}

/** `replaced`: written; `changed`: someone wrote the participant since it was read; `busy`: another writer holds the session. */
export type ReplaceOutcome = 'replaced' | 'changed' | 'busy' | 'missing';
/** `stale`: the session is gone, moved on, or has its sid already; nothing was written. */
export type RoomSidOutcome = 'set' | 'busy' | 'stale';

/**
 * Where sessions live: in memory or in Redis (src/backplane chooses). Values are copies: a caller changes
 * a record and `save`s it, so both implementations have the same semantics.
 */
export interface SessionStore extends NodeLoadSource {
  get(sessionId: string): Promise<SessionRecord | undefined>;
  placement(sessionId: string): Promise<SessionPlacement | undefined>;
  /**
   * One more participant in an existing session, atomically and without reading or rewriting the others
   * (joins into a big session cost the same as into a small one). Checked in the same step: the session
   * exists and waits for no node, it has room (`maxParticipants`, 0 = no limit), the identity is new, and
   * no other writer holds the session (`busy`: an instance's lease in Redis; the caller checks its own
   * in-process lock), and its node is not one of `downNodes` (`node-down`: the caller rebuilds first),
   * and, when the newcomer is an unconfirmed invite (isUnconfirmedInvite), the session holds fewer than
   * `maxUnconfirmed` of those (`too-many-unconfirmed`; 0 = no limit). Anything but `added` changed nothing.
   */
  addParticipant(
    sessionId: string,
    participant: ParticipantRecord,
    downNodes?: readonly string[],
    maxUnconfirmed?: number,
  ): Promise<AddOutcome>;
  /** The participant and its session's record without the others; undefined when either is gone. */
  participantView(sessionId: string, identity: string): Promise<ParticipantView | undefined>;
  /**
   * Writes one participant in place of the one read as `version`, atomically, without touching the
   * others: refused (`changed`) if it was written since, and (`busy`) while a writer holds the session
   * (an instance's lease in Redis; the caller checks its own in-process lock). Its active state must not
   * change (left stays under the lock: it changes the counts).
   */
  replaceParticipant(sessionId: string, participant: ParticipantRecord, version: string): Promise<ReplaceOutcome>;
  /**
   * The sid of the room its node created, written into the record in place, atomically and without
   * reading or rewriting the rest: only while the session is still at `generation` on `nodeUrl` with
   * no sid (`stale` otherwise), and refused (`busy`) while another writer holds the session (an
   * instance's lease in Redis; the caller checks its own in-process lock).
   */
  setRoomSid(sessionId: string, at: { generation: number; nodeUrl: string }, sid: string): Promise<RoomSidOutcome>;
  save(session: SessionRecord): Promise<void>;
  /** These sessions in one read, in order (undefined for one that is gone): a dead node's herd reads a batch at once. */
  getMany(sessionIds: readonly string[]): Promise<Array<SessionRecord | undefined>>;
  /**
   * Each session written as `save` would, all in one round trip (a herd's batch): each write on its own,
   * atomic and fenced by its own session's lease. Answers, in order, undefined for each one written and
   * the error for each one refused (LeaseLostError); throws when none could be tried (the store away).
   */
  saveMany(sessions: readonly SessionRecord[]): Promise<Array<Error | undefined>>;
  delete(sessionId: string): Promise<void>;
  /** Every session: the operators' GET /api/sessions. Nothing periodic reads it (see the indexes below). */
  list(): Promise<SessionRecord[]>;

  // Indexes the writes keep for the sweep and the rebuild (sweep-deadlines.ts), so neither reads every
  // session: at 10,000 sessions of 10, list() took most of a second and held the event loop.
  /**
   * The store's clock (ms): Redis TIME, or the memory store's Clock. The sweep's deadlines are started
   * on it by the writes (sweepTimer), so instances whose clocks differ agree on when one falls.
   */
  now(): Promise<number>;
  /**
   * A participant of the session says it lost its media path to `nodeUrl`: recorded (once per identity,
   * the newest report counting), and answered with how many distinct participants said so within
   * `windowMs` (on the store's clock, so every instance's reports count together).
   */
  recordLossReport(sessionId: string, nodeUrl: string, identity: string, windowMs: number): Promise<number>;
  /** These sessions in one read, each with its participants' sweep deadlines (store clock); gone ones left out. */
  sweepView(sessionIds: readonly string[]): Promise<SweepView[]>;
  /** Sessions waiting for a node: what a node coming up rebuilds. */
  listWaiting(): Promise<SessionRecord[]>;
  /** Participants whose sweep deadline is at or before `now` (store clock), earliest first, at most `limit`; listed until a write changes them. */
  dueParticipants(now: number, limit: number): Promise<DueParticipant[]>;
  /** Ids of the sessions placed on this node (those waiting for a node: on the last one). */
  sessionIdsOn(nodeUrl: string): Promise<string[]>;
  /** Ids of the sessions whose room the sweep watches even when it is occupied (watchesRoom). */
  watchedSessionIds(): Promise<string[]>;
}
