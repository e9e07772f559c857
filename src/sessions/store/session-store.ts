import type { NodeLoadCount, NodeLoadSource } from '../../cluster/node-load.source';
import type { ParticipantRecord, SessionRecord } from '../session.model';

export type { NodeLoadCount };

export const SESSION_STORE = Symbol('SessionStore');

/**
 * Where sessions live. Values are copies: a caller changes a record and `save`s it, so a Redis
 * implementation (later) has the same semantics as the in-memory one.
 */
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
  | { outcome: 'added'; nodeUrl: string; generation: number }
  | { outcome: 'node-down'; nodeUrl: string }
  | { outcome: 'taken' | 'missing' | 'waiting' | 'full' | 'busy' };

export interface SessionStore extends NodeLoadSource {
  get(sessionId: string): Promise<SessionRecord | undefined>;
  placement(sessionId: string): Promise<SessionPlacement | undefined>;
  /**
   * One more participant in an existing session, atomically and without reading or rewriting the others
   * (joins into a big session cost the same as into a small one). Checked in the same step: the session
   * exists and waits for no node, it has room (`maxParticipants`, 0 = no limit), the identity is new, and
   * no other writer holds the session (`busy`: an instance's lease in Redis; the caller checks its own
   * in-process lock), and its node is not one of `downNodes` (`node-down`: the caller rebuilds first).
   * Anything but `added` changed nothing.
   */
  addParticipant(sessionId: string, participant: ParticipantRecord, downNodes?: readonly string[]): Promise<AddOutcome>;
  save(session: SessionRecord): Promise<void>;
  delete(sessionId: string): Promise<void>;
  list(): Promise<SessionRecord[]>;
  listByNode(nodeUrl: string): Promise<SessionRecord[]>;
}
