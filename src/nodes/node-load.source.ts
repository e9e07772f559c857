/** What a node carries: placed sessions and the participants a rebuild would re-invite there. */
export interface NodeLoadCount {
  sessions: number;
  participants: number;
}

export const NODE_LOAD_SOURCE = Symbol('NodeLoadSource');

/** Where placement learns each node's committed load; the session registry implements it. */
export interface NodeLoadSource {
  /** Kept current as sessions are saved: O(nodes) to read, never a copy of every session. */
  loadByNode(): Promise<Map<string, NodeLoadCount>>;
  /** One session's participants (LiveKit's cluster places rooms itself: /api/nodes counts them per room). */
  placement(sessionId: string): Promise<{ activeParticipants: number } | undefined>;
}
