import type { ParticipantGrants, RoomSettings } from './session.model';

/** Tokens live minutes, not the SDK's 6 h: a rejoin always mints a fresh one, and LiveKit refreshes connected ones. */
export const TOKEN_TTL_SECONDS = 10 * 60;
/** After participant_left, how long a rebuild still re-invites them (LiveKit's departure timeout: 20 s). */
export const PARTICIPANT_LEFT_GRACE_MS = 10_000;
/** An invited participant who never confirmed counts as present for this long (the token's lifetime). */
export const INVITE_PRESENCE_MS = TOKEN_TTL_SECONDS * 1000;

export const DEFAULT_ROOM_SETTINGS: RoomSettings = {
  metadata: '',
  emptyTimeoutSec: 300,
  departureTimeoutSec: 20,
  maxParticipants: 0,
};

export const DEFAULT_GRANTS: ParticipantGrants = { canPublish: true, canSubscribe: true, canPublishData: true };

/**
 * Participants' reports as evidence of a broken media path (a node that answers its probes while its
 * participants cannot reach its media): reports count within this window...
 */
export const LOSS_REPORT_WINDOW_MS = 10_000;

/**
 * ...and this many distinct participants of the session must have reported it: a majority of those who
 * have not left, and at least two, so the common factor is the node, not one participant's network (one
 * participant with a bad network never moves the others). A participant alone in a session moves only
 * itself.
 */
export function lossQuorum(activeParticipants: number): number {
  return activeParticipants <= 1 ? 1 : Math.max(2, Math.floor(activeParticipants / 2) + 1);
}

/** How often the sweep looks for participants to forget and sessions nobody is in (LiveKit checks its own rooms every few seconds too). */
export const SWEEP_INTERVAL_MS = 5_000;
/** A fresh invite holds the session open this long before an empty room counts against it: time for a client to connect. */
export const CONNECT_WINDOW_MS = 30_000;

/**
 * An invite nobody has seen connected (no participant_joined, not in the node's room) is forgotten
 * after this long. A client connects within 1-2 s of its join answer, and within seconds of a rebuild's
 * push (each re-invite starts this again); a minute also covers livekit-client's 15 s connect timeout
 * and socket.io's 5 s reconnect ceiling several times over. Until then an invite counts toward the
 * session's size: anyone with the link could hold a session full with joins that never connect.
 */
export const INVITE_CONFIRM_MS = 60_000;

/**
 * A lock-free write (a join, a presence webhook) finding its session held by another writer asks again
 * this often, for this long, before it queues for the lock.
 */
const BUSY_RETRY_MS = 5;
const BUSY_RETRY_FOR_MS = 500;

/**
 * The pace of one lock-free write's retries while its session is busy: each call waits BUSY_RETRY_MS
 * and answers true, until BUSY_RETRY_FOR_MS have passed since this was made; then false, at once.
 */
export function busyRetries(): () => Promise<boolean> {
  const until = performance.now() + BUSY_RETRY_FOR_MS;
  return async () => {
    if (performance.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
    return true;
  };
}
