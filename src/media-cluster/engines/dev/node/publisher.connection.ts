import {
  AddTrackRequest,
  SessionDescription,
  SignalTarget,
  SimulcastCodecInfo,
  TrackInfo,
  TrackPublishedResponse,
  TrackType,
} from '@livekit/protocol';
import { randomInt } from 'node:crypto';
import { RTCPeerConnection, RtcpRrPacket, type RTCRtpTransceiver, type RTCTrackEvent } from 'werift';
import { addRemoteCandidate, trickleMessage } from './ice';
import { answerAsDtlsServer, keepInactiveSectionsBundled, peerConfig } from './peer-config';
import { PublishedTrack } from './published-track';
import { newSid } from './sids';
import type { SignalMessage } from './signal-socket';

const MIME_BY_TYPE: Partial<Record<TrackType, string>> = {
  [TrackType.VIDEO]: 'video/VP8',
  [TrackType.AUDIO]: 'audio/opus',
};

/** What the publisher side needs from its participant. */
export interface PublisherOwner {
  readonly sid: string;
  readonly identity: string;
  send(message: SignalMessage): void;
  /** The publisher PC connected: the participant is active. */
  connected(): void;
  trackPublished(track: PublishedTrack): void;
  tracksUnpublished(tracks: PublishedTrack[]): void;
  trackMuted(track: PublishedTrack): void;
  dataChannelMessage(label: string, data: string | Buffer): void;
  fail(step: string, error: unknown): void;
  log(line: string): void;
}

/**
 * How often the node sends a publishing client an RTCP packet of its own (an empty receiver report) on
 * the publisher connection. LiveKit sends transport-wide congestion feedback there every ~100 ms; werift
 * sends receiver reports only 0.5-1.5 s apart. A client tells a dead media path from a quiet one by
 * that flow's pauses (ResilientRoom's media-path watcher): 1.5 s pauses mean 3 s before it can tell.
 */
export const PUBLISHER_FEEDBACK_MS = 200;

/**
 * The client's publisher PC (the client offers, the node answers as DTLS server) and the tracks it
 * publishes: an addTrack request and its media may arrive in either order.
 */
export class PublisherConnection {
  private pc: RTCPeerConnection | undefined;
  private work: Promise<void> = Promise.resolve();
  private readonly published = new Map<string, PublishedTrack>();
  private readonly pendingByCid = new Map<string, TrackInfo>();
  /** Media that arrived before its addTrack request, by the client's track id. */
  private readonly earlyMedia = new Map<string, RTCTrackEvent>();
  private readonly trackSidByTransceiver = new Map<RTCRtpTransceiver, string>();
  private closed = false;
  private feedback: NodeJS.Timeout | undefined;
  /** The sender SSRC of the node's own receiver reports on this connection. */
  private readonly feedbackSsrc = randomInt(1, 2 ** 32 - 1);

  constructor(private readonly owner: PublisherOwner) {}

  get tracks(): PublishedTrack[] {
    return [...this.published.values()];
  }

  get count(): number {
    return this.published.size;
  }

  track(sid: string): PublishedTrack | undefined {
    return this.published.get(sid);
  }

  /** Offers are answered one at a time, in order. */
  offer(offer: SessionDescription): void {
    this.work = this.work.then(() => this.answer(offer)).catch((error) => this.owner.fail('publisher offer', error));
  }

  candidate(candidateInit: string): void {
    addRemoteCandidate((this.pc ??= this.createPc()), candidateInit, (line) =>
      this.owner.log(`${this.owner.identity}: ${line}`),
    );
  }

  addTrack(request: AddTrackRequest): void {
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
    this.owner.send({ case: 'trackPublished', value: new TrackPublishedResponse({ cid: request.cid, track: info }) });
    const early = this.earlyMedia.get(request.cid);
    if (early) {
      this.earlyMedia.delete(request.cid);
      this.publish(info, early);
    } else {
      this.pendingByCid.set(request.cid, info);
    }
  }

  /** Answers whether anything changed. */
  mute(trackSid: string, muted: boolean): boolean {
    const track = this.published.get(trackSid);
    if (!track || track.info.muted === muted) return false;
    track.info.muted = muted;
    this.owner.trackMuted(track);
    return true;
  }

  /** Ends every published track; nothing is answered after this. */
  closeTracks(): void {
    this.closed = true;
    for (const track of this.published.values()) track.close();
  }

  async closePc(): Promise<void> {
    this.stopFeedback();
    await this.pc?.close().catch(() => undefined);
  }

  /** While the connection is up and something is published: an empty receiver report every PUBLISHER_FEEDBACK_MS. */
  private startFeedback(pc: RTCPeerConnection): void {
    if (this.feedback) return;
    const report = new RtcpRrPacket({ ssrc: this.feedbackSsrc, reports: [] });
    this.feedback = setInterval(() => {
      if (this.published.size === 0) return;
      for (const dtls of pc.dtlsTransports)
        if (dtls.state === 'connected') void dtls.sendRtcp([report]).catch(() => undefined);
    }, PUBLISHER_FEEDBACK_MS);
    this.feedback.unref();
  }

  private stopFeedback(): void {
    clearInterval(this.feedback);
    this.feedback = undefined;
  }

  private async answer(offer: SessionDescription): Promise<void> {
    if (this.closed) return;
    const pc = (this.pc ??= this.createPc());
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    keepSectionsInPlace(pc);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription({ type: 'answer', sdp: answerAsDtlsServer(answer.sdp) });
    this.owner.send({
      case: 'answer',
      // Sections the node will not use (the receive-only ones @livekit/rtc-node offers) stay bundled.
      value: new SessionDescription({
        type: 'answer',
        sdp: keepInactiveSectionsBundled(pc.localDescription!.sdp),
        id: offer.id,
      }),
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
    if (gone.length > 0) this.owner.tracksUnpublished(gone);
  }

  private onTrack(event: RTCTrackEvent): void {
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
    const track = new PublishedTrack(info, this.owner.sid, event.track, event.receiver);
    this.published.set(info.sid, track);
    this.trackSidByTransceiver.set(event.transceiver, info.sid);
    this.owner.trackPublished(track);
  }

  private createPc(): RTCPeerConnection {
    const pc = new RTCPeerConnection({ ...peerConfig(), bundlePolicy: 'max-bundle' });
    pc.onIceCandidate.subscribe(
      (candidate) => candidate && this.owner.send(trickleMessage(candidate, SignalTarget.PUBLISHER)),
    );
    pc.ontrack = (event) => this.onTrack(event);
    pc.onDataChannel.subscribe((channel) => {
      channel.onMessage.subscribe((data) => this.owner.dataChannelMessage(channel.label, data));
    });
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        this.startFeedback(pc);
        this.owner.connected();
      } else if (state === 'failed' || state === 'closed') this.stopFeedback();
    });
    return pc;
  }
}

/**
 * werift hands an inactive transceiver to the next one added, whatever its kind: right for an
 * offerer recycling its own m-lines, wrong for us as answerer. @livekit/rtc-node offers receive-only
 * sections it never uses on this PC; when it then offers a new track, werift gave that section's
 * transceiver to the new m-line and failed the answer ("Transceiver with mid=7 not found").
 * The node never sends on this PC, so no transceiver here is ever free for reuse.
 */
function keepSectionsInPlace(pc: RTCPeerConnection): void {
  for (const transceiver of pc.getTransceivers()) transceiver.usedForSender = true;
}
