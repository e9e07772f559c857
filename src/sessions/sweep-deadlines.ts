// What the store indexes for the sweep, so a sweep reads what is due and not every session.
import type { ParticipantRecord, SessionHead } from './session.model';
import { INVITE_CONFIRM_MS, PARTICIPANT_LEFT_GRACE_MS } from './session-policy';

/**
 * When the sweep has something to decide about this participant: its grace period ends (left, leaving),
 * its invite had time to connect (invited), or its key-less token expires; undefined for a joined one.
 */
export function sweepDeadline(p: ParticipantRecord): number | undefined {
  switch (p.state) {
    case 'left':
    case 'leaving':
      return (p.leftAt ?? 0) + PARTICIPANT_LEFT_GRACE_MS;
    case 'invited':
      return Math.min(p.invitedAt + INVITE_CONFIRM_MS, p.expiresAt ?? Infinity);
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

/** The member of a participant's deadline in the index: session id and identity never hold a space. */
export function dueKey(sessionId: string, identity: string): string {
  return `${sessionId} ${identity}`;
}

export function parseDueKey(key: string): { sessionId: string; identity: string } {
  const space = key.indexOf(' ');
  return { sessionId: key.slice(0, space), identity: key.slice(space + 1) };
}
