import type { TrackInfo } from '@livekit/protocol';
import type { MediaStreamTrack, RTCRtpReceiver, RtpPacket } from 'werift';

/** Chromium asks for a keyframe per subscriber and per loss burst; one request a while is enough. */
const KEYFRAME_REQUEST_INTERVAL_MS = 300;

/**
 * A track some participant publishes, and the SFU's job for it: every RTP packet that arrives is
 * written unchanged, once serialized, to each subscriber's sending track.
 */
export class PublishedTrack {
  private readonly sinks = new Set<MediaStreamTrack>();
  private readonly unsubscribe: () => void;
  private lastSsrc: number | undefined;
  private lastKeyframeRequestAt = 0;

  constructor(
    readonly info: TrackInfo,
    readonly publisherSid: string,
    private readonly source: MediaStreamTrack,
    private readonly receiver: RTCRtpReceiver,
  ) {
    this.unsubscribe = source.onReceiveRtp.subscribe((packet) => this.forward(packet)).unSubscribe;
  }

  get sid(): string {
    return this.info.sid;
  }

  get kind(): 'audio' | 'video' {
    return this.source.kind === 'audio' ? 'audio' : 'video';
  }

  addSink(sink: MediaStreamTrack): void {
    this.sinks.add(sink);
  }

  removeSink(sink: MediaStreamTrack): void {
    this.sinks.delete(sink);
  }

  requestKeyframe(): void {
    const now = Date.now();
    const ssrc = this.lastSsrc ?? this.source.ssrc;
    if (this.kind !== 'video' || ssrc === undefined || now - this.lastKeyframeRequestAt < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastKeyframeRequestAt = now;
    void this.receiver.sendRtcpPLI(ssrc);
  }

  close(): void {
    this.unsubscribe();
    this.sinks.clear();
  }

  private forward(packet: RtpPacket): void {
    this.lastSsrc = packet.header.ssrc;
    if (this.sinks.size === 0) return;
    // Extension ids were negotiated with the publisher; each subscriber's sender adds its own.
    packet.header.extensions = [];
    packet.header.extension = false;
    const bytes = packet.serialize();
    for (const sink of this.sinks) sink.writeRtp(bytes);
  }
}
