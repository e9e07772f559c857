import {
  Codec,
  DataPacket_Kind,
  type DataPacket,
  DisconnectReason,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantInfo_State,
  ParticipantUpdate,
  Room as RoomInfo,
  RoomUpdate,
  ServerInfo,
  ServerInfo_Edition,
} from '@livekit/protocol';
import type { JoinClaims } from './access';
import { Participant, type ParticipantHost } from './participant';
import type { PublishedTrack } from './published-track';
import { newSid } from './sids';
import type { SignalSocket } from './signal-socket';
import type { WebhookNotifier } from './webhook-notifier';

/** What the node reports as its LiveKit version; livekit-client refuses a server without one. */
const SERVER_VERSION = '1.13.0';
const SERVER_PROTOCOL = 16;
/** LiveKit's values; the client closes the signal after `PING_TIMEOUT_SEC` without a pong. */
export const PING_INTERVAL_SEC = 5;
export const PING_TIMEOUT_SEC = 15;
const PUBLISH_CODECS = [new Codec({ mime: 'video/VP8' }), new Codec({ mime: 'audio/opus' })];

export interface RoomSettings {
  name: string;
  /** Seconds the room lives while nobody has joined it. */
  emptyTimeout: number;
  /** Seconds it lives after the last participant left; 0 = `emptyTimeout`. */
  departureTimeout: number;
  maxParticipants: number;
  metadata: string;
}

export interface RoomHost {
  readonly nodeId: string;
  readonly webhooks: WebhookNotifier;
  roomClosed(room: Room): void;
  log(line: string): void;
}

/** A room on this node: who is in it, what they publish, who receives what, and when it ends. */
export class Room implements ParticipantHost {
  readonly sid = newSid('RM_');
  readonly createdAtMs = Date.now();
  metadata: string;
  private readonly participants = new Map<string, Participant>();
  private readonly autoSubscribe = new WeakMap<Participant, boolean>();
  private readonly everActive = new WeakSet<Participant>();
  private emptyTimer: NodeJS.Timeout | undefined;
  private everJoined = false;
  private closed = false;

  constructor(
    private readonly settings: RoomSettings,
    private readonly host: RoomHost,
  ) {
    this.metadata = settings.metadata;
    this.host.webhooks.notify('room_started', { room: this.info() });
    this.host.log(`room ${this.name} started`);
    this.armEmptyTimer();
  }

  get name(): string {
    return this.settings.name;
  }

  info(): RoomInfo {
    const visible = this.visibleParticipants();
    return new RoomInfo({
      sid: this.sid,
      name: this.name,
      emptyTimeout: this.settings.emptyTimeout,
      departureTimeout: this.settings.departureTimeout,
      maxParticipants: this.settings.maxParticipants,
      creationTime: BigInt(Math.floor(this.createdAtMs / 1000)),
      creationTimeMs: BigInt(this.createdAtMs),
      metadata: this.metadata,
      numParticipants: visible.length,
      numPublishers: visible.filter((participant) => participant.tracks.length > 0).length,
      enabledCodecs: PUBLISH_CODECS,
    });
  }

  participant(identity: string): Participant | undefined {
    return this.participants.get(identity);
  }

  list(): Participant[] {
    return [...this.participants.values()];
  }

  /** Why `identity` may not join now, or undefined. */
  refusal(identity: string): string | undefined {
    if (this.closed) return 'room is closed';
    const others = [...this.participants.keys()].filter((other) => other !== identity).length;
    if (this.settings.maxParticipants > 0 && others >= this.settings.maxParticipants) return 'room is full';
    return undefined;
  }

  join(claims: JoinClaims, socket: SignalSocket, autoSubscribe: boolean): Participant {
    const previous = this.participants.get(claims.identity);
    if (previous) this.remove(previous, DisconnectReason.DUPLICATE_IDENTITY, true);
    const participant = new Participant(claims, socket, this);
    this.participants.set(participant.identity, participant);
    this.autoSubscribe.set(participant, autoSubscribe);
    this.everJoined = true;
    clearTimeout(this.emptyTimer);

    participant.state = ParticipantInfo_State.JOINED;
    participant.send({
      case: 'join',
      value: new JoinResponse({
        room: this.info(),
        participant: participant.info(),
        otherParticipants: this.visibleParticipants()
          .filter((other) => other !== participant)
          .map((other) => other.info()),
        serverVersion: SERVER_VERSION,
        serverInfo: new ServerInfo({
          edition: ServerInfo_Edition.Standard,
          version: SERVER_VERSION,
          protocol: SERVER_PROTOCOL,
          nodeId: this.host.nodeId,
        }),
        subscriberPrimary: false,
        pingInterval: PING_INTERVAL_SEC,
        pingTimeout: PING_TIMEOUT_SEC,
        enabledPublishCodecs: PUBLISH_CODECS,
      }),
    });
    this.broadcast(participant);
    this.host.log(`${participant.identity} joined ${this.name}`);
    return participant;
  }

  /** Takes a participant out, tells the others, and tells the participant why when `notify`. */
  remove(participant: Participant, reason: DisconnectReason, notify: boolean): void {
    if (this.participants.get(participant.identity) !== participant) return;
    this.participants.delete(participant.identity);
    if (notify) {
      participant.send({
        case: 'leave',
        value: new LeaveRequest({ reason, action: LeaveRequest_Action.DISCONNECT, canReconnect: false }),
      });
    }
    const tracks = participant.tracks;
    for (const other of this.participants.values()) tracks.forEach((track) => other.unsubscribe(track.sid));
    void participant.close();
    participant.touch();
    this.broadcast(participant);
    for (const track of tracks)
      this.host.webhooks.notify('track_unpublished', {
        room: this.info(),
        participant: participant.info(),
        track: track.info,
      });
    // LiveKit counts a participant as joined only once its transport is up; one that never got
    // there is reported as an aborted connection rather than as having left.
    const event = this.everActive.has(participant) ? 'participant_left' : 'participant_connection_aborted';
    this.host.webhooks.notify(event, { room: this.info(), participant: participant.info() });
    this.host.log(`${participant.identity} left ${this.name} (${DisconnectReason[reason]})`);
    this.armEmptyTimer();
  }

  /** Ends the room: everyone is sent away with `reason`, then room_finished. */
  close(reason: DisconnectReason): void {
    if (this.closed) return;
    for (const participant of this.list()) this.remove(participant, reason, true);
    this.closed = true;
    clearTimeout(this.emptyTimer);
    this.host.webhooks.notify('room_finished', { room: this.info() });
    this.host.log(`room ${this.name} finished`);
    this.host.roomClosed(this);
  }

  updateMetadata(metadata: string): void {
    this.metadata = metadata;
    const room = this.info();
    for (const participant of this.participants.values())
      participant.send({ case: 'roomUpdate', value: new RoomUpdate({ room }) });
  }

  // ParticipantHost

  trackPublished(publisher: Participant, track: PublishedTrack): void {
    this.broadcast(publisher);
    this.host.webhooks.notify('track_published', {
      room: this.info(),
      participant: publisher.info(),
      track: track.info,
    });
    this.host.log(`${publisher.identity} published ${track.kind} ${track.sid} in ${this.name}`);
    for (const other of this.participants.values()) {
      if (other !== publisher && this.receivesAutomatically(other)) other.subscribe(track);
    }
  }

  tracksUnpublished(publisher: Participant, tracks: PublishedTrack[]): void {
    for (const other of this.participants.values()) tracks.forEach((track) => other.unsubscribe(track.sid));
    this.broadcast(publisher);
    for (const track of tracks)
      this.host.webhooks.notify('track_unpublished', {
        room: this.info(),
        participant: publisher.info(),
        track: track.info,
      });
  }

  participantActive(participant: Participant): void {
    this.everActive.add(participant);
    this.broadcast(participant);
    this.host.webhooks.notify('participant_joined', { room: this.info(), participant: participant.info() });
    this.participantReady(participant);
  }

  participantReady(participant: Participant): void {
    participant.openSubscriber();
    // LiveKit subscribes a newcomer once its transport is up; here once the client has its peer
    // connections (its first offer came in), which is earlier and lets the subscriber's first offer
    // already carry everything published so far.
    if (!this.receivesAutomatically(participant)) return;
    for (const other of this.participants.values()) {
      if (other !== participant) other.tracks.forEach((track) => participant.subscribe(track));
    }
  }

  participantUpdated(participant: Participant): void {
    this.broadcast(participant, true);
  }

  trackMuted(publisher: Participant): void {
    this.broadcast(publisher);
  }

  participantLeaving(participant: Participant): void {
    this.remove(participant, DisconnectReason.CLIENT_INITIATED, false);
  }

  dataReceived(sender: Participant, packet: DataPacket): void {
    this.relayData(sender, packet);
  }

  /** Delivers a data packet to its destinations (everyone but the sender when it names none). */
  relayData(sender: Participant | undefined, packet: DataPacket): void {
    const user = packet.value.case === 'user' ? packet.value.value : undefined;
    const identities = new Set([...packet.destinationIdentities, ...(user?.destinationIdentities ?? [])]);
    const sids = new Set(user?.destinationSids ?? []);
    const everyone = identities.size === 0 && sids.size === 0;
    const bytes = Buffer.from(packet.toBinary());
    const lossy = packet.kind === DataPacket_Kind.LOSSY;
    for (const participant of this.participants.values()) {
      if (participant === sender) continue;
      if (everyone || identities.has(participant.identity) || sids.has(participant.sid))
        participant.sendData(bytes, lossy);
    }
  }

  log(line: string): void {
    this.host.log(line);
  }

  private receivesAutomatically(participant: Participant): boolean {
    return participant.subscriberOpen && this.autoSubscribe.get(participant) === true;
  }

  private visibleParticipants(): Participant[] {
    return this.list().filter((participant) => !participant.hidden);
  }

  /** Sends `subject`'s current info to the others (and to itself when `includeSelf`). */
  private broadcast(subject: Participant, includeSelf = false): void {
    const update = new ParticipantUpdate({ participants: [subject.info()] });
    for (const participant of this.participants.values()) {
      const wanted = participant === subject ? includeSelf : !subject.hidden;
      if (wanted) participant.send({ case: 'update', value: update });
    }
  }

  private armEmptyTimer(): void {
    if (this.closed || this.participants.size > 0) return;
    clearTimeout(this.emptyTimer);
    const seconds =
      this.everJoined && this.settings.departureTimeout > 0
        ? this.settings.departureTimeout
        : this.settings.emptyTimeout;
    this.emptyTimer = setTimeout(() => this.close(DisconnectReason.ROOM_CLOSED), seconds * 1000);
    this.emptyTimer.unref();
  }
}
