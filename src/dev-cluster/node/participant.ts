import {
  AddTrackRequest,
  DataPacket,
  MuteTrackRequest,
  ParticipantInfo,
  ParticipantInfo_State,
  Pong,
  SessionDescription,
  SignalTarget,
  SimulcastCodecInfo,
  TrackInfo,
  TrackPublishedResponse,
  TrackType,
  TrickleRequest,
  type ParticipantPermission,
  type SignalRequest,
} from '@livekit/protocol';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  type RTCDataChannel,
  type RTCIceCandidate,
  type RTCRtpTransceiver,
  type RTCTrackEvent,
} from 'werift';
import type { JoinClaims } from './access';
import { answerAsDtlsServer, isUsableCandidate, keepInactiveSectionsBundled, peerConfig } from './peer-config';
import { PublishedTrack } from './published-track';
import { newSid } from './sids';
import { CLOSE_INTERNAL_ERROR, type SignalMessage, type SignalSocket } from './signal-socket';

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

/** livekit-client's data channel labels. */
const RELIABLE_LABEL = '_reliable';
const LOSSY_LABEL = '_lossy';
/** Packets held while a subscriber's channel opens (a newcomer is sent data before it is up). */
const MAX_PENDING_PACKETS = 256;

const MIME_BY_TYPE: Partial<Record<TrackType, string>> = {
  [TrackType.VIDEO]: 'video/VP8',
  [TrackType.AUDIO]: 'audio/opus',
};

interface Subscription {
  track: PublishedTrack;
  sink: MediaStreamTrack;
  transceiver: RTCRtpTransceiver;
}

/**
 * One connected client: its signal socket and the two peer connections of LiveKit's dual-PC mode
 * (the client offers on the publisher PC; the node offers on the subscriber PC).
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

  private readonly published = new Map<string, PublishedTrack>();
  private readonly pendingByCid = new Map<string, TrackInfo>();
  /** Media that arrived before its addTrack request, by the client's track id. */
  private readonly earlyMedia = new Map<string, RTCTrackEvent>();
  private readonly trackSidByTransceiver = new Map<RTCRtpTransceiver, string>();
  private readonly subscriptions = new Map<string, Subscription>();

  private publisherPc: RTCPeerConnection | undefined;
  private subscriberPc: RTCPeerConnection | undefined;
  private publisherWork: Promise<void> = Promise.resolve();
  private dataOut: RTCDataChannel | undefined;
  private readonly pendingData: Buffer[] = [];
  private subscriberOfferId = 0;
  private readonly watchedDtls = new WeakSet<object>();
  private negotiationScheduled = false;
  private subscriberNegotiating = false;
  private subscriberRenegotiate = false;
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
  }

  get hidden(): boolean {
    return this.permission.hidden;
  }

  get tracks(): PublishedTrack[] {
    return [...this.published.values()];
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
      isPublisher: this.published.size > 0,
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
        this.queuePublisherWork(() => this.answerPublisher(message.value));
        if (!this.subscriberPc) this.host.participantReady(this);
        return;
      case 'answer':
        void this.acceptSubscriberAnswer(message.value).catch((error) => this.fail('subscriber answer', error));
        return;
      case 'trickle':
        this.addRemoteCandidate(message.value.candidateInit, message.value.target);
        return;
      case 'addTrack':
        this.addTrack(message.value);
        return;
      case 'mute':
        this.mute(message.value.sid, message.value.muted);
        return;
      case 'leave':
        this.host.participantLeaving(this);
        return;
      case 'ping':
        this.send({ case: 'pong', value: BigInt(Date.now()) });
        return;
      case 'pingReq':
        this.send({ case: 'pongResp', value: new Pong({ lastPingTimestamp: message.value.timestamp, timestamp: BigInt(Date.now()) }) });
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
    return this.subscriberPc !== undefined;
  }

  /**
   * Sets up the subscriber PC with its data channels and offers it. Done when the client's first
   * publisher offer arrives (it has built both PCs by then), so the two ICE/DTLS handshakes run side
   * by side instead of the subscriber's waiting for the publisher's to finish.
   */
  openSubscriber(): void {
    if (this.closed || this.subscriberPc) return;
    this.subscriberPc = this.createSubscriberPc();
    this.negotiateSubscriber();
  }

  /**
   * A data packet (already serialized) from someone else in the room. Lossy packets go over the
   * reliable channel too: werift delays an ordered message sent right before an unordered one
   * (seen: ~1 s, or until the next send), and livekit-client reads the kind from the packet, not
   * the channel. Delivering a lossy packet reliably is within its contract.
   */
  sendData(bytes: Buffer): void {
    if (this.dataOut?.readyState === 'open') {
      this.dataOut.send(bytes);
    } else if (!this.closed && this.pendingData.length < MAX_PENDING_PACKETS) {
      this.pendingData.push(bytes);
    }
  }

  subscribe(track: PublishedTrack): void {
    if (this.closed || this.subscriptions.has(track.sid) || !this.permission.canSubscribe) return;
    const pc = (this.subscriberPc ??= this.createSubscriberPc());
    const sink = new MediaStreamTrack({ kind: track.kind });
    const transceiver = pc.addTransceiver(sink, { direction: 'sendonly' });
    // livekit-client maps incoming media by msid "<participant sid>|<track sid> <track sid>".
    (transceiver.sender as { trackId: string }).trackId = track.sid;
    transceiver.sender.streamId = `${track.publisherSid}|${track.sid}`;
    transceiver.sender.onPictureLossIndication.subscribe(() => track.requestKeyframe());
    track.addSink(sink);
    this.subscriptions.set(track.sid, { track, sink, transceiver });
    this.negotiateSubscriber();
  }

  unsubscribe(trackSid: string): void {
    const subscription = this.subscriptions.get(trackSid);
    if (!subscription) return;
    this.subscriptions.delete(trackSid);
    subscription.track.removeSink(subscription.sink);
    if (this.closed || !this.subscriberPc) return;
    this.subscriberPc.removeTrack(subscription.transceiver.sender);
    this.negotiateSubscriber();
  }

  /** RoomService.MutePublishedTrack: the client is told to mute, the others see it in an update. */
  muteFromServer(trackSid: string, muted: boolean): TrackInfo | undefined {
    const track = this.published.get(trackSid);
    if (!track) return undefined;
    this.send({ case: 'mute', value: new MuteTrackRequest({ sid: trackSid, muted }) });
    this.mute(trackSid, muted);
    return track.info;
  }

  /** Ends this participant's media; the room has already told the others. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = ParticipantInfo_State.DISCONNECTED;
    for (const { track, sink } of this.subscriptions.values()) track.removeSink(sink);
    this.subscriptions.clear();
    for (const track of this.published.values()) track.close();
    this.socket.close();
    await Promise.all([this.publisherPc?.close(), this.subscriberPc?.close()].map((closing) => closing?.catch(() => undefined)));
  }

  /** The signal socket is gone; the participant may still be replaced by a reconnect. */
  dropSignal(): void {
    this.socket.terminate();
  }

  private addTrack(request: AddTrackRequest): void {
    if (!this.permission.canPublish) {
      this.host.log(`${this.identity} may not publish; addTrack ignored`);
      return;
    }
    const mimeType = MIME_BY_TYPE[request.type] ?? '';
    const info = new TrackInfo({
      sid: request.sid || newSid('TR_'),
      type: request.type,
      name: request.name,
      muted: request.muted,
      width: request.width,
      height: request.height,
      simulcast: request.layers.length > 1,
      source: request.source,
      layers: request.layers,
      mimeType,
      codecs: [new SimulcastCodecInfo({ mimeType, layers: request.layers })],
      disableDtx: request.disableDtx,
      stereo: request.stereo,
      disableRed: request.disableRed,
      encryption: request.encryption,
      stream: request.stream,
      audioFeatures: request.audioFeatures,
      backupCodecPolicy: request.backupCodecPolicy,
    });
    this.send({ case: 'trackPublished', value: new TrackPublishedResponse({ cid: request.cid, track: info }) });
    const early = this.earlyMedia.get(request.cid);
    if (early) {
      this.earlyMedia.delete(request.cid);
      this.publish(info, early);
    } else {
      this.pendingByCid.set(request.cid, info);
    }
  }

  private mute(trackSid: string, muted: boolean): void {
    const track = this.published.get(trackSid);
    if (!track || track.info.muted === muted) return;
    track.info.muted = muted;
    this.touch();
    this.host.trackMuted(this, track);
  }

  private queuePublisherWork(work: () => Promise<void>): void {
    this.publisherWork = this.publisherWork.then(work).catch((error) => this.fail('publisher offer', error));
  }

  private async answerPublisher(offer: SessionDescription): Promise<void> {
    if (this.closed) return;
    const pc = (this.publisherPc ??= this.createPublisherPc());
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription({ type: 'answer', sdp: answerAsDtlsServer(answer.sdp) });
    this.send({
      case: 'answer',
      value: new SessionDescription({ type: 'answer', sdp: pc.localDescription!.sdp, id: offer.id }),
    });
    this.reconcileUnpublished();
  }

  /** The client unpublishes by renegotiating: a transceiver that no longer sends ends its track. */
  private reconcileUnpublished(): void {
    const gone: PublishedTrack[] = [];
    for (const [transceiver, trackSid] of this.trackSidByTransceiver) {
      const receiving = transceiver.currentDirection === 'recvonly' || transceiver.currentDirection === 'sendrecv';
      if (receiving) continue;
      const track = this.published.get(trackSid);
      this.trackSidByTransceiver.delete(transceiver);
      if (!track) continue;
      this.published.delete(trackSid);
      track.close();
      gone.push(track);
    }
    if (gone.length > 0) {
      this.touch();
      this.host.tracksUnpublished(this, gone);
    }
  }

  private onPublisherTrack(event: RTCTrackEvent): void {
    // werift repeats ontrack for every transceiver at each renegotiation.
    if (this.trackSidByTransceiver.has(event.transceiver)) return;
    const cid = event.transceiver.receiver.remoteTrackId ?? '';
    const pending = this.pendingByCid.get(cid);
    if (pending) {
      this.pendingByCid.delete(cid);
      this.publish(pending, event);
    } else {
      this.earlyMedia.set(cid, event);
    }
  }

  private publish(info: TrackInfo, event: RTCTrackEvent): void {
    info.mid = event.transceiver.mid ?? '';
    const track = new PublishedTrack(info, this.sid, event.track, event.receiver);
    this.published.set(info.sid, track);
    this.trackSidByTransceiver.set(event.transceiver, info.sid);
    this.touch();
    this.host.trackPublished(this, track);
  }

  private createPublisherPc(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ ...peerConfig(), bundlePolicy: 'max-bundle' });
    pc.onIceCandidate.subscribe((candidate) => this.sendCandidate(candidate, SignalTarget.PUBLISHER));
    pc.ontrack = (event) => this.onPublisherTrack(event);
    pc.onDataChannel.subscribe((channel) => {
      channel.onMessage.subscribe((data) => this.onData(channel.label, data));
    });
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected' && this.state !== ParticipantInfo_State.ACTIVE) {
        this.state = ParticipantInfo_State.ACTIVE;
        this.touch();
        this.host.participantActive(this);
      }
    });
    return pc;
  }

  private createSubscriberPc(): RTCPeerConnection {
    // No header extensions towards subscribers: Chromium demultiplexes by the SSRCs in the offer,
    // and each extension is per-packet work for the sender.
    const pc = new RTCPeerConnection({ ...peerConfig(), headerExtensions: { audio: [], video: [] }, bundlePolicy: 'max-bundle' });
    pc.onIceCandidate.subscribe((candidate) => this.sendCandidate(candidate, SignalTarget.SUBSCRIBER));
    // The PC reports connected only once SCTP is up too; media can flow (SRTP) as soon as DTLS is.
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.requestKeyframes();
    });
    const dataOut = pc.createDataChannel(RELIABLE_LABEL, { ordered: true });
    this.dataOut = dataOut;
    dataOut.stateChanged.subscribe((state) => {
      if (state !== 'open') return;
      for (const bytes of this.pendingData.splice(0)) dataOut.send(bytes);
    });
    return pc;
  }

  /** Offers the subscriber PC again; one negotiation at a time, changes made meanwhile go in the next. */
  private negotiateSubscriber(): void {
    if (this.subscriberNegotiating) {
      this.subscriberRenegotiate = true;
      return;
    }
    if (this.negotiationScheduled) return;
    // Subscriptions made in the same turn (a newcomer receiving everyone) go in one offer.
    this.negotiationScheduled = true;
    setImmediate(() => {
      this.negotiationScheduled = false;
      this.subscriberNegotiating = true;
      void this.offerSubscriber().catch((error) => {
        this.subscriberNegotiating = false;
        this.fail('subscriber offer', error);
      });
    });
  }

  private async offerSubscriber(): Promise<void> {
    const pc = this.subscriberPc;
    if (!pc || this.closed) return;
    await pc.setLocalDescription(await pc.createOffer());
    this.watchSubscriberDtls(pc);
    const midToTrackId: Record<string, string> = {};
    for (const { transceiver, track } of this.subscriptions.values()) {
      if (transceiver.mid) midToTrackId[transceiver.mid] = track.sid;
    }
    this.send({
      case: 'offer',
      value: new SessionDescription({
        type: 'offer',
        sdp: keepInactiveSectionsBundled(pc.localDescription!.sdp),
        id: ++this.subscriberOfferId,
        midToTrackId,
      }),
    });
  }

  private async acceptSubscriberAnswer(answer: SessionDescription): Promise<void> {
    const pc = this.subscriberPc;
    if (!pc || this.closed || answer.id !== this.subscriberOfferId) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this.subscriberNegotiating = false;
    if (pc.dtlsTransports.some((dtls) => dtls.state === 'connected')) this.requestKeyframes();
    if (this.subscriberRenegotiate) {
      this.subscriberRenegotiate = false;
      this.negotiateSubscriber();
    }
  }

  /** Asks for keyframes the moment a subscriber transport's DTLS completes, before SCTP follows. */
  private watchSubscriberDtls(pc: RTCPeerConnection): void {
    for (const dtls of pc.dtlsTransports) {
      if (this.watchedDtls.has(dtls)) continue;
      this.watchedDtls.add(dtls);
      dtls.onStateChange.subscribe((state) => {
        if (state === 'connected' && !this.closed) this.requestKeyframes();
      });
    }
  }

  /** A subscriber can show nothing until a keyframe; ask every publisher it receives from. */
  private requestKeyframes(): void {
    for (const { track } of this.subscriptions.values()) track.requestKeyframe();
  }

  private sendCandidate(candidate: RTCIceCandidate | undefined, target: SignalTarget): void {
    if (!candidate) return;
    this.send({ case: 'trickle', value: new TrickleRequest({ candidateInit: JSON.stringify(candidate.toJSON()), target }) });
  }

  private addRemoteCandidate(candidateInit: string, target: SignalTarget): void {
    const pc = target === SignalTarget.SUBSCRIBER ? this.subscriberPc : (this.publisherPc ??= this.createPublisherPc());
    if (!pc) return;
    const init = JSON.parse(candidateInit) as { candidate?: string };
    if (!init.candidate || !isUsableCandidate(init.candidate)) return;
    void pc.addIceCandidate(init).catch((error) => this.host.log(`${this.identity}: candidate refused: ${(error as Error).message}`));
  }

  private onData(label: string, data: string | Buffer): void {
    if ((label !== RELIABLE_LABEL && label !== LOSSY_LABEL) || typeof data === 'string') return;
    if (!this.permission.canPublishData) return;
    let packet: DataPacket;
    try {
      packet = DataPacket.fromBinary(data);
    } catch (error) {
      this.host.log(`${this.identity}: unreadable data packet dropped: ${(error as Error).message}`);
      return;
    }
    // Receivers trust the node, not the sender, for who sent it (as on LiveKit).
    packet.participantIdentity = this.identity;
    packet.participantSid = this.sid;
    if (packet.value.case === 'user') {
      packet.value.value.participantIdentity = this.identity;
      packet.value.value.participantSid = this.sid;
    }
    this.host.dataReceived(this, packet);
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
