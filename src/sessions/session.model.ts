// The memory a rebuild needs: everything to recreate the room and re-invite every participant.

export interface RoomSettings {
  metadata: string;
  /** Seconds LiveKit keeps the room open before anyone joins (LiveKit's own default: 300). */
  emptyTimeoutSec: number;
  /** Seconds the room stays after the last participant leaves. */
  departureTimeoutSec: number;
  /** 0 = unlimited. */
  maxParticipants: number;
  /**
   * LiveKit agent names the room dispatches (explicit dispatch), in every token's roomConfig and every
   * CreateRoom: whichever creates the room on a node dispatches them there. Absent: none (also records
   * written before sessions could ask for agents).
   */
  agents?: string[];
}

export interface ParticipantGrants {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
}

/**
 * invited: a token was issued, the media server has not confirmed the join yet.
 * joined: participant_joined seen on the session's current room, or the sweep found it in the node's room.
 * leaving: participant_left seen; re-invited on a rebuild only until the grace period ends.
 * left: gone for good, never re-invited.
 */
export type ParticipantState = 'invited' | 'joined' | 'leaving' | 'left';

export interface ParticipantRecord {
  identity: string;
  name: string;
  metadata: string;
  grants: ParticipantGrants;
  /** sha256 hex of the rejoin key; the key itself is returned once and never stored. '' = no key (get-token). */
  rejoinKeyHash: string;
  /** A participant without a rejoin key is forgotten when its token expires, unless the node confirmed it joined. */
  expiresAt?: number;
  state: ParticipantState;
  invitedAt: number;
  joinedAt?: number;
  leftAt?: number;
  /** LiveKit's sid of the connection last seen joining; a late event about an older connection is stale. */
  connectionSid?: string;
  /** The connection whose participant_left was applied: its own late participant_joined is stale. */
  departedSid?: string;
  /** createdAt (Unix seconds) of the newest presence webhook applied; an older one arrives out of order. */
  lastEventAt?: number;
}

export interface SessionRecord {
  sessionId: string;
  room: RoomSettings;
  /** The node the session lives on (the last one, while waiting for a node). */
  nodeUrl: string;
  /**
   * Room sid LiveKit returned for the current room: tells webhooks of the current room from stale ones.
   * '' right after a rebuild, until the new node's CreateRoom answers (the push does not wait for it).
   */
  roomSid: string;
  /** The sids of the rooms the session lived in before, newest first (a few): stale while roomSid is ''. */
  formerRoomSids?: string[];
  generation: number;
  /** True while no healthy node could take the session after its node went down. */
  waitingForNode: boolean;
  createdAt: number;
  rebuiltAt?: number;
  /** Since when the session's node has reported its room empty or gone (the sweep's view, webhooks or not). */
  emptySince?: number;
  /** The node once reported people in the room: the departure timeout applies, not the empty timeout. */
  seenOccupied?: boolean;
  participants: Record<string, ParticipantRecord>;
}

/** A session's record without its participants: what a key check or a join needs to know of where it stands. */
export type SessionHead = Omit<SessionRecord, 'participants'>;

/**
 * The participant with this identity. Identities come from URLs: `constructor` or `__proto__` must
 * find nobody, not an Object.prototype member, so every lookup goes through an own-property check.
 */
export function findParticipant(session: SessionRecord, identity: string): ParticipantRecord | undefined {
  return Object.hasOwn(session.participants, identity) ? session.participants[identity] : undefined;
}

/** Invited and never seen connected (a first join; a re-invite of someone seen before is not one). */
export function isUnconfirmedInvite(p: ParticipantRecord): boolean {
  return p.state === 'invited' && p.joinedAt === undefined;
}

/** Participants a rebuild re-invites. */
export function activeParticipants(session: SessionRecord): ParticipantRecord[] {
  return Object.values(session.participants).filter((p) => p.state !== 'left');
}
