import type { RoomLocator } from '../nodes/room-locator';
import type { SessionStore } from './store/session-store';

/** Independent nodes: the backend placed every room, so the session's record names its node. */
export class StoreRoomLocator implements RoomLocator {
  readonly roomOutlivesNode = false;
  constructor(private readonly store: SessionStore) {}

  async nodeOf(session: { nodeUrl: string }): Promise<string | undefined> {
    return session.nodeUrl;
  }

  roomsOn(nodeUrl: string): Promise<string[]> {
    return this.store.sessionIdsOn(nodeUrl);
  }

  async evict(): Promise<void> {}
}
