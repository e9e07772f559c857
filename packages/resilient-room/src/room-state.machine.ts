import type { ResilientRoomState, StateChange } from './resilient-room.types';

/** States nothing moves out of, except that a failed room can still be left. */
const FINAL_STATES: ReadonlySet<ResilientRoomState> = new Set(['left', 'failed']);

/**
 * The state ResilientRoom reports. A final state holds (only `left` may follow `failed`), and `since`
 * survives a repeat of the same state, so a countdown shows the whole outage rather than the last retry.
 */
export class RoomStateMachine {
  private current: StateChange;

  constructor(private readonly clock: () => number = Date.now) {
    this.current = { state: 'joining', reason: 'not joined yet', since: clock() };
  }

  get change(): StateChange {
    return this.current;
  }

  get state(): ResilientRoomState {
    return this.current.state;
  }

  get isFinal(): boolean {
    return FINAL_STATES.has(this.current.state);
  }

  /** The new state, or undefined when a final state refuses it. */
  move(state: ResilientRoomState, reason: string, retryAt?: number): StateChange | undefined {
    if (this.isFinal && state !== 'left') return undefined;
    const since = state === this.current.state ? this.current.since : this.clock();
    this.current = { state, reason, since, retryAt };
    return this.current;
  }
}
