import { SessionDescription, SignalTarget } from '@livekit/protocol';
import { MediaStreamTrack, RTCPeerConnection, type RTCDataChannel, type RTCRtpTransceiver } from 'werift';
import { LOSSY_LABEL, MAX_PENDING_PACKETS, RELIABLE_LABEL } from './data-packets';
import { addRemoteCandidate, trickleMessage } from './ice';
import { keepInactiveSectionsBundled, peerConfig } from './peer-config';
import type { PublishedTrack } from './published-track';
import type { SignalMessage } from './signal-socket';

interface OutgoingChannel {
  channel: RTCDataChannel;
  /** Packets for the client before the channel opened. */
  pending: Buffer[];
}

function outgoingChannel(channel: RTCDataChannel): OutgoingChannel {
  const out: OutgoingChannel = { channel, pending: [] };
  channel.stateChanged.subscribe((state) => {
    if (state === 'open') for (const bytes of out.pending.splice(0)) channel.send(bytes);
  });
  return out;
}

interface Subscription {
  track: PublishedTrack;
  sink: MediaStreamTrack;
  transceiver: RTCRtpTransceiver;
}

/** What the subscriber side needs from its participant. */
export interface SubscriberOwner {
  readonly identity: string;
  send(message: SignalMessage): void;
  fail(step: string, error: unknown): void;
  log(line: string): void;
}

/**
 * The client's subscriber PC: the node offers every track the client receives, one negotiation at a
 * time, asks publishers for keyframes as soon as DTLS completes, and carries data packets to the client.
 */
export class SubscriberConnection {
  private pc: RTCPeerConnection | undefined;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly dataOut: { reliable?: OutgoingChannel; lossy?: OutgoingChannel } = {};
  private offerId = 0;
  private readonly watchedDtls = new WeakSet<object>();
  private negotiationScheduled = false;
  private negotiating = false;
  private renegotiate = false;
  private closed = false;

  constructor(private readonly owner: SubscriberOwner) {}

  /** The PC exists: subscriptions go into its offers. */
  get open(): boolean {
    return this.pc !== undefined;
  }

  /** Creates the PC with its data channel and offers it. */
  start(): void {
    if (this.closed || this.pc) return;
    this.pc = this.createPc();
    this.negotiate();
  }

  /** A data packet (already serialized) for this client; held while its channel opens. */
  sendData(bytes: Buffer, lossy: boolean): void {
    const out = lossy ? this.dataOut.lossy : this.dataOut.reliable;
    if (out?.channel.readyState === 'open') {
      out.channel.send(bytes);
    } else if (!this.closed && out && out.pending.length < MAX_PENDING_PACKETS) {
      out.pending.push(bytes);
    }
  }

  subscribe(track: PublishedTrack): void {
    if (this.closed || this.subscriptions.has(track.sid)) return;
    const pc = (this.pc ??= this.createPc());
    const sink = new MediaStreamTrack({ kind: track.kind });
    const transceiver = pc.addTransceiver(sink, { direction: 'sendonly' });
    // livekit-client maps incoming media by msid "<participant sid>|<track sid> <track sid>".
    (transceiver.sender as { trackId: string }).trackId = track.sid;
    transceiver.sender.streamId = `${track.publisherSid}|${track.sid}`;
    transceiver.sender.onPictureLossIndication.subscribe(() => track.requestKeyframe());
    track.addSink(sink);
    this.subscriptions.set(track.sid, { track, sink, transceiver });
    this.negotiate();
  }

  unsubscribe(trackSid: string): void {
    const subscription = this.subscriptions.get(trackSid);
    if (!subscription) return;
    this.subscriptions.delete(trackSid);
    subscription.track.removeSink(subscription.sink);
    if (this.closed || !this.pc) return;
    this.pc.removeTrack(subscription.transceiver.sender);
    this.negotiate();
  }

  answer(answer: SessionDescription): void {
    void this.acceptAnswer(answer).catch((error) => this.owner.fail('subscriber answer', error));
  }

  candidate(candidateInit: string): void {
    if (this.pc)
      addRemoteCandidate(this.pc, candidateInit, (line) => this.owner.log(`${this.owner.identity}: ${line}`));
  }

  /** Stops forwarding to this client; nothing is offered after this. */
  stopSubscriptions(): void {
    this.closed = true;
    for (const { track, sink } of this.subscriptions.values()) track.removeSink(sink);
    this.subscriptions.clear();
  }

  async closePc(): Promise<void> {
    await this.pc?.close().catch(() => undefined);
  }

  private createPc(): RTCPeerConnection {
    // No header extensions towards subscribers: Chromium demultiplexes by the SSRCs in the offer,
    // and each extension is per-packet work for the sender.
    const pc = new RTCPeerConnection({
      ...peerConfig(),
      headerExtensions: { audio: [], video: [] },
      bundlePolicy: 'max-bundle',
    });
    pc.onIceCandidate.subscribe(
      (candidate) => candidate && this.owner.send(trickleMessage(candidate, SignalTarget.SUBSCRIBER)),
    );
    // The PC reports connected only once SCTP is up too; media can flow (SRTP) as soon as DTLS is.
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.requestKeyframes();
    });
    this.dataOut.reliable = outgoingChannel(pc.createDataChannel(RELIABLE_LABEL, { ordered: true }));
    // Clients take a packet's kind from the channel it arrives on (LiveKit's Rust core does).
    // Ordered, though LiveKit's is not: werift holds an ordered message sent right before an
    // unordered one (seen: ~1 s, or until the next send); no retransmits keeps it lossy.
    this.dataOut.lossy = outgoingChannel(pc.createDataChannel(LOSSY_LABEL, { ordered: true, maxRetransmits: 0 }));
    return pc;
  }

  /** Offers again; one negotiation at a time, changes made meanwhile go in the next. */
  private negotiate(): void {
    if (this.negotiating) {
      this.renegotiate = true;
      return;
    }
    if (this.negotiationScheduled) return;
    // Subscriptions made in the same turn (a newcomer receiving everyone) go in one offer.
    this.negotiationScheduled = true;
    setImmediate(() => {
      this.negotiationScheduled = false;
      this.negotiating = true;
      void this.offer().catch((error) => {
        this.negotiating = false;
        this.owner.fail('subscriber offer', error);
      });
    });
  }

  private async offer(): Promise<void> {
    const pc = this.pc;
    if (!pc || this.closed) return;
    await pc.setLocalDescription(await pc.createOffer());
    this.watchDtls(pc);
    const midToTrackId: Record<string, string> = {};
    for (const { transceiver, track } of this.subscriptions.values()) {
      if (transceiver.mid) midToTrackId[transceiver.mid] = track.sid;
    }
    this.owner.send({
      case: 'offer',
      value: new SessionDescription({
        type: 'offer',
        sdp: keepInactiveSectionsBundled(pc.localDescription!.sdp),
        id: ++this.offerId,
        midToTrackId,
      }),
    });
  }

  private async acceptAnswer(answer: SessionDescription): Promise<void> {
    const pc = this.pc;
    // An answer names the offer it answers; 0 is a client that does not say (LiveKit's Rust core,
    // under @livekit/rtc-node and the Python SDK), and answers the one offer in flight.
    if (!pc || this.closed || (answer.id !== 0 && answer.id !== this.offerId)) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this.negotiating = false;
    if (pc.dtlsTransports.some((dtls) => dtls.state === 'connected')) this.requestKeyframes();
    if (this.renegotiate) {
      this.renegotiate = false;
      this.negotiate();
    }
  }

  /** Asks for keyframes the moment a transport's DTLS completes, before SCTP follows. */
  private watchDtls(pc: RTCPeerConnection): void {
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
}
