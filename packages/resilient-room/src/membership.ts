import type { RemoteParticipant, Room } from 'livekit-client';

/**
 * A participant who drops off a healthy node without saying bye is not called gone before this: a
 * move of theirs looks the same until our own move starts (the backend pushes every participant of a
 * session at once), and a move keeps them.
 */
export const DEPARTURE_GRACE_MS = 2_000;
/** After a move, whoever is not back on the new node within this has left (matches FIRST_FRAME_WAIT_MS). */
export const RETURN_WAIT_MS = 15_000;

export interface MembershipListener {
  /** A real arrival: someone not in the session before (never a participant coming back from a move). */
  arrived(participant: RemoteParticipant): void;
  /** A real departure: a bye, a drop with no move within the grace, or not back after a move. */
  departed(participant: RemoteParticipant): void;
  changed(): void;
}

interface Member {
  /** Their participant object in the latest Room they were seen in. */
  participant: RemoteParticipant;
  name: string;
  present: boolean;
  saidBye: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Who is in the session as the app should hear it, across Rooms: LiveKit's own events say "connected"
 * and "disconnected" for every Room a move creates or drops; this keeps one member per identity and
 * announces only real arrivals and departures.
 */
export class Membership {
  private readonly members = new Map<string, Member>();
  /** Our own move is under way: drops off the old node are part of it. */
  private moving = false;

  constructor(private readonly listener: MembershipListener) {}

  get identities(): string[] {
    return [...this.members.keys()];
  }

  entries(): Array<{ identity: string; name: string; present: boolean }> {
    return [...this.members].map(([identity, m]) => ({ identity, name: m.name, present: m.present }));
  }

  has(identity: string): boolean {
    return this.members.has(identity);
  }

  /**
   * A Room connected. Everyone in it is present; newcomers are announced unless this is the first Room
   * (as LiveKit announces nobody already there at a join). After a move, whoever is missing has
   * RETURN_WAIT_MS to come back.
   */
  roomConnected(room: Room, first: boolean): void {
    this.moving = false;
    for (const participant of room.remoteParticipants.values()) this.seen(participant, !first);
    if (first) return;
    for (const [identity, m] of this.members) {
      if (m.present || room.remoteParticipants.has(identity)) continue;
      this.arm(identity, m, RETURN_WAIT_MS);
    }
  }

  /** Someone is in the current Room: a newcomer is announced (when `announce`), a known one is back. */
  seen(participant: RemoteParticipant, announce = true): void {
    const m = this.members.get(participant.identity);
    if (m) {
      this.disarm(m);
      Object.assign(m, { participant, name: participant.name || m.name, present: true, saidBye: false });
      this.listener.changed();
      return;
    }
    this.members.set(participant.identity, {
      participant,
      name: participant.name || participant.identity,
      present: true,
      saidBye: false,
    });
    this.listener.changed();
    if (announce) this.listener.arrived(participant);
  }

  /** Someone dropped off the current Room while no move of ours is under way. */
  dropped(identity: string): void {
    const m = this.members.get(identity);
    if (!m) return;
    if (m.saidBye) return this.depart(identity, m);
    m.present = false;
    if (!this.moving) this.arm(identity, m, DEPARTURE_GRACE_MS);
    this.listener.changed();
  }

  /** They said bye (leave()): gone at once if already off the Room, else as soon as they drop off. */
  bye(identity: string): void {
    const m = this.members.get(identity);
    if (!m) return;
    m.saidBye = true;
    if (!m.present) this.depart(identity, m);
  }

  /** Our own move began: nobody is called gone for dropping off the old node; the new one decides. */
  moveStarted(): void {
    this.moving = true;
    for (const m of this.members.values()) {
      this.disarm(m);
      m.present = false;
    }
    this.listener.changed();
  }

  clear(): void {
    for (const m of this.members.values()) this.disarm(m);
    this.members.clear();
    this.listener.changed();
  }

  private arm(identity: string, m: Member, ms: number): void {
    this.disarm(m);
    m.timer = setTimeout(() => {
      m.timer = undefined;
      if (this.members.get(identity) === m && !m.present) this.depart(identity, m);
    }, ms);
  }

  private disarm(m: Member): void {
    if (m.timer !== undefined) clearTimeout(m.timer);
    m.timer = undefined;
  }

  private depart(identity: string, m: Member): void {
    this.disarm(m);
    this.members.delete(identity);
    this.listener.changed();
    this.listener.departed(m.participant);
  }
}
