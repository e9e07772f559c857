// What the session registry announces to whoever reaches participants (the socket.io push).
import type { RejoinReason } from '../contracts';

/** A session was rebuilt on `url`: each participant gets its fresh token there. */
export interface SessionMovedEvent {
  sessionId: string;
  url: string;
  generation: number;
  reason: RejoinReason;
  invitations: ReadonlyArray<{ identity: string; token: string }>;
}

/** A session lost its node and no healthy node could take it yet. */
export interface SessionWaitingEvent {
  sessionId: string;
  generation: number;
  reason: string;
  identities: readonly string[];
}

/** A participant left for good (DELETE): its sockets have nothing more to hear or say. */
export interface ParticipantLeftEvent {
  sessionId: string;
  identity: string;
}

/**
 * The channel that carries other instances' pushes to this instance's sockets (Redis pub/sub) is back
 * after a break: a push published meanwhile reached none of them, so each is sent what it missed.
 */
export interface PushChannelRestoredEvent {
  /** What came back, for the log. */
  channel: string;
}
