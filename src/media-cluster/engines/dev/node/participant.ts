import {
  DataPacket,
  MuteTrackRequest,
  ParticipantInfo,
  ParticipantInfo_State,
  Pong,
  SignalTarget,
  type ParticipantPermission,
  type SignalRequest,
  type TrackInfo,
} from '@livekit/protocol';
import type { JoinClaims } from './access';
import { receivedPacket } from './data-packets';
import { PublisherConnection } from './publisher.connection';
import type { PublishedTrack } from './published-track';
import { newSid } from './sids';
import { CLOSE_INTERNAL_ERROR, type SignalMessage, type SignalSocket } from './signal-socket';
import { SubscriberConnection } from './subscriber.connection';

/** What a participant needs from its room. */
export interface ParticipantHost {
  trackPublished(publisher: Participant, track: PublishedTrack): void;
  tracksUnpublished(publisher: Participant, tracks: PublishedTrack[]): void;
  participantActive(participant: Participant): void;
  /** The client's first publisher offer arrived: its subscriber PC exists and can take an offer. */
  participantReady(participant: Participant): void;
  participantUpdated(participant: Participant): void;
  trackMuted(publisher: Participant, track: PublishedTrack): void;
  participantLeaving(participant: Participant): void;
  dataReceived(sender: Participant, packet: DataPacket): void;
  log(line: string): void;
}

/**
 * One connected client: its signal socket, dispatched here, and the two peer connections of LiveKit's
 * dual-PC mode (publisher.connection.ts: the client offers; subscriber.connection.ts: the node offers).
 */
export class Participant {
  readonly sid = newSid('PA_');
  readonly identity: string;
  readonly joinedAtMs = Date.now();
  name: string;
  metadata: string;
  attributes: Record<string, string>;
  permission: ParticipantPermission;
  state = ParticipantInfo_State.JOINING;
  lastSeenAt = Date.now();
  private version = 1;
  private readonly publisher: PublisherConnection;
  private readonly subscriber: SubscriberConnection;
  private closed = false;

  constructor(
    claims: JoinClaims,
    private readonly socket: SignalSocket,
    private readonly host: ParticipantHost,
  ) {
    this.identity = claims.identity;
    this.name = claims.name;
    this.metadata = claims.metadata;
    this.attributes = claims.attributes;
    this.permission = claims.permission;
    const common = {
      identity: this.identity,
      send: (message: SignalMessage) => this.send(message),
      fail: (step: string, error: unknown) => this.fail(step, error),
      log: (line: string) => this.host.log(line),
    };
    this.publisher = new PublisherConnection({
      ...common,
      sid: this.sid,
      connected: () => this.publisherConnected(),
      trackPublished: (track) => {
        this.touch();
        this.host.trackPublished(this, track);
      },
      tracksUnpublished: (tracks) => {
        this.touch();
        this.host.tracksUnpublished(this, tracks);
      },
      trackMuted: (track) => {
        this.touch();
        this.host.trackMuted(this, track);
      },
      dataChannelMessage: (label, data) => this.onData(label, data),
    });
    this.subscriber = new SubscriberConnection(common);
  }

  get hidden(): boolean {
    return this.permission.hidden;
  }

  get tracks(): PublishedTrack[] {
    return this.publisher.tracks;
  }

  /** Raise the version: livekit-client ignores participant updates whose version it has seen. */
  touch(): void {
    this.version++;
  }

  info(): ParticipantInfo {
    return new ParticipantInfo({
      sid: this.sid,
      identity: this.identity,
      name: this.name,
      metadata: this.metadata,
      attributes: this.attributes,
      state: this.state,
      tracks: this.tracks.map((track) => track.info),
      joinedAt: BigInt(Math.floor(this.joinedAtMs / 1000)),
      joinedAtMs: BigInt(this.joinedAtMs),
      version: this.version,
      permission: this.permission,
      isPublisher: this.publisher.count > 0,
    });
  }

  send(message: SignalMessage): void {
    if (!this.closed) this.socket.send(message);
  }

  handle(request: SignalRequest): void {
    this.lastSeenAt = Date.now();
    const message = request.message;
    switch (message.case) {
      case 'offer':
        this.publisher.offer(message.value);
        if (!this.subscriber.open) this.host.participantReady(this);
        return;
      case 'answer':
        this.subscriber.answer(message.value);
        return;
      case 'trickle':
        if (message.value.target === SignalTarget.SUBSCRIBER) this.subscriber.candidate(message.value.candidateInit);
        else this.publisher.candidate(message.value.candidateInit);
        return;
      case 'addTrack':
        if (!this.permission.canPublish) {
          this.host.log(`${this.identity} may not publish; addTrack ignored`);
          return;
        }
        this.publisher.addTrack(message.value);
        return;
      case 'mute':
        this.publisher.mute(message.value.sid, message.value.muted);
        return;
      case 'leave':
        this.host.participantLeaving(this);
        return;
      case 'ping':
        this.send({ case: 'pong', value: BigInt(Date.now()) });
        return;
      case 'pingReq':
        this.send({
          case: 'pongResp',
          value: new Pong({ lastPingTimestamp: message.value.timestamp, timestamp: BigInt(Date.now()) }),
        });
        return;
      case 'updateMetadata':
        if (!this.permission.canUpdateMetadata) return;
        if (message.value.name) this.name = message.value.name;
        if (message.value.metadata) this.metadata = message.value.metadata;
        Object.assign(this.attributes, message.value.attributes);
        this.touch();
        this.host.participantUpdated(this);
        return;
      default:
        // Subscription settings, layer choices, sync state, data tracks...: a dev SFU forwards
        // everything to everyone, so these change nothing.
        return;
    }
  }

  /** The subscriber PC exists: subscriptions go into its offers. */
  get subscriberOpen(): boolean {
    return this.subscriber.open;
  }

  /**
   * Sets up the subscriber PC with its data channels and offers it. Done when the client's first
   * publisher offer arrives (it has built both PCs by then), so the two ICE/DTLS handshakes run side
   * by side instead of the subscriber's waiting for the publisher's to finish.
   */
  openSubscriber(): void {
    if (!this.closed) this.subscriber.start();
  }

  /** A data packet (already serialized) from someone else in the room, on the channel of its kind. */
  sendData(bytes: Buffer, lossy: boolean): void {
    this.subscriber.sendData(bytes, lossy);
  }

  subscribe(track: PublishedTrack): void {
    if (!this.closed && this.permission.canSubscribe) this.subscriber.subscribe(track);
  }

  unsubscribe(trackSid: string): void {
    this.subscriber.unsubscribe(trackSid);
  }

  /** RoomService.MutePublishedTrack: the client is told to mute, the others see it in an update. */
  muteFromServer(trackSid: string, muted: boolean): TrackInfo | undefined {
    const track = this.publisher.track(trackSid);
    if (!track) return undefined;
    this.send({ case: 'mute', value: new MuteTrackRequest({ sid: trackSid, muted }) });
    this.publisher.mute(trackSid, muted);
    return track.info;
  }

  /** Ends this participant's media; the room has already told the others. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = ParticipantInfo_State.DISCONNECTED;
    this.subscriber.stopSubscriptions();
    this.publisher.closeTracks();
    this.socket.close();
    await Promise.all([this.publisher.closePc(), this.subscriber.closePc()]);
  }

  /** The signal socket is gone; the participant may still be replaced by a reconnect. */
  dropSignal(): void {
    this.socket.terminate();
  }

  private publisherConnected(): void {
    if (this.state === ParticipantInfo_State.ACTIVE) return;
    this.state = ParticipantInfo_State.ACTIVE;
    this.touch();
    this.host.participantActive(this);
  }

  private onData(label: string, data: string | Buffer): void {
    if (!this.permission.canPublishData) return;
    let packet: DataPacket | undefined;
    try {
      packet = receivedPacket(label, data, this);
    } catch (error) {
      this.host.log(`${this.identity}: unreadable data packet dropped: ${(error as Error).message}`);
      return;
    }
    if (packet) this.host.dataReceived(this, packet);
  }

  /**
   * A negotiation that failed leaves the client waiting for an answer that never comes: close its
   * connection with the reason, so it rejoins afresh (the room keeps serving everyone else).
   */
  private fail(step: string, error: unknown): void {
    const message = (error as Error).message ?? String(error);
    this.host.log(`${this.identity}: ${step} failed: ${(error as Error).stack ?? message}`);
    if (!this.closed) this.socket.close(CLOSE_INTERNAL_ERROR, `${step} failed: ${message}`);
  }
}
