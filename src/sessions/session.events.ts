// What the session registry announces to whoever reaches participants (the socket.io gateway).
import type { RejoinReason } from '../contracts';

export const SESSION_MOVED = 'session-moved';
export const SESSION_WAITING = 'session-waiting';
export const PARTICIPANT_LEFT = 'participant-left';

/** A session was rebuilt on `url`: each participant gets its fresh token there. */
export class SessionMovedEvent {
  constructor(
    readonly sessionId: string,
    readonly url: string,
    readonly generation: number,
    readonly reason: RejoinReason,
    readonly invitations: ReadonlyArray<{ identity: string; token: string }>,
  ) {}
}

/** A session lost its node and no healthy node could take it yet. */
export class SessionWaitingEvent {
  constructor(
    readonly sessionId: string,
    readonly generation: number,
    readonly reason: string,
    readonly identities: readonly string[],
  ) {}
}

/** A participant left for good (DELETE): its sockets have nothing more to hear or say. */
export class ParticipantLeftEvent {
  constructor(
    readonly sessionId: string,
    readonly identity: string,
  ) {}
}
