import type { NodeLoadCount, NodeLoadSource } from '../../cluster/node-load.source';
import type { SessionRecord } from '../session.model';

export type { NodeLoadCount };

export const SESSION_STORE = Symbol('SessionStore');

/**
 * Where sessions live. Values are copies: a caller changes a record and `save`s it, so a Redis
 * implementation (later) has the same semantics as the in-memory one.
 */
export interface SessionStore extends NodeLoadSource {
  get(sessionId: string): Promise<SessionRecord | undefined>;
  save(session: SessionRecord): Promise<void>;
  delete(sessionId: string): Promise<void>;
  list(): Promise<SessionRecord[]>;
  listByNode(nodeUrl: string): Promise<SessionRecord[]>;
}
