export const ROOM_LOCATOR = Symbol('RoomLocator');

/**
 * Which media node holds a session's room. With independent nodes the backend placed it, and the
 * session's record says; in LiveKit's own cluster LiveKit placed it, and its `room_node_map` says. A
 * node's URL here is the one NodeHealthService watches (in the cluster: `ws://<node ip>:<node port>`).
 */
export interface RoomLocator {
  /**
   * Whether a moved room is the same room: LiveKit's cluster re-creates it on the next node from its
   * Redis entry (its sid may stay); an independent node creates a new room, with a new sid.
   */
  readonly roomOutlivesNode: boolean;
  /**
   * The node holding the session's room, if it is known. With `rebuiltAt` (the session's last move): not
   * a node that was already down at that move, which the room has left even where LiveKit's map still
   * names it.
   */
  nodeOf(session: { sessionId: string; nodeUrl: string; rebuiltAt?: number }): Promise<string | undefined>;
  /** The session ids whose rooms are on `nodeUrl`. */
  roomsOn(nodeUrl: string): Promise<string[]>;
  /**
   * `nodeUrl` is dead: LiveKit must stop placing rooms on it before its sessions are pushed elsewhere
   * (in the cluster, its registry entry goes, as LiveKit's own RemoveDeadNodes does). Nothing to do with
   * independent nodes. Idempotent.
   */
  evict(nodeUrl: string): Promise<void>;
}
