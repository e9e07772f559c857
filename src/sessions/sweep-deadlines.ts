// What the store indexes for the sweep, so a sweep reads what is due and not every session.
import type { ParticipantRecord, SessionHead } from './session.model';
import { INVITE_CONFIRM_MS, PARTICIPANT_LEFT_GRACE_MS } from './session-policy';

/**
 * When the sweep has something to decide about a participant, as a duration the store starts on its own
 * clock (Redis TIME, or the memory store's Clock) when it first sees `stamp`: instances' clocks differ,
 * the store's is one. A write that keeps the stamp keeps the deadline (a rebuild's save does not extend
 * a leaver's grace period); a new stamp starts it again (a rejoin, a rebuild's re-invite).
 */
export interface SweepTimer {
  stamp: string;
  afterMs: number;
}

/** Left or leaving: the grace period; invited: time to connect (a key-less token expires later still); joined: none. */
export function sweepTimer(p: ParticipantRecord): SweepTimer | undefined {
  switch (p.state) {
    case 'left':
    case 'leaving':
      return { stamp: `${p.state}:${p.leftAt ?? 0}`, afterMs: PARTICIPANT_LEFT_GRACE_MS };
    case 'invited':
      return { stamp: `invited:${p.invitedAt}`, afterMs: INVITE_CONFIRM_MS };
    case 'joined':
      return undefined;
    default: {
      const never: never = p.state;
      return never;
    }
  }
}

/**
 * The sweep looks at this session's room even when its node lists it occupied: it was reported empty
 * (emptySince to clear) or never seen occupied (seenOccupied to set). Others only when their room is
 * absent or empty.
 */
export function watchesRoom(session: SessionHead): boolean {
  return session.emptySince !== undefined || !session.seenOccupied;
}

/** A timer as the Redis store keeps it, 'stamp|deadline' (stamps hold no '|'). */
export function decodeTimer(value: string): { stamp: string; deadline: number } {
  const bar = value.lastIndexOf('|');
  return { stamp: value.slice(0, bar), deadline: Number(value.slice(bar + 1)) };
}

/** The member of a participant's deadline in the index: session id and identity never hold a space. */
export function dueKey(sessionId: string, identity: string): string {
  return `${sessionId} ${identity}`;
}

export function parseDueKey(key: string): { sessionId: string; identity: string } {
  const space = key.indexOf(' ');
  return { sessionId: key.slice(0, space), identity: key.slice(space + 1) };
}
