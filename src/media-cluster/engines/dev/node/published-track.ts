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
  private pendingKeyframeRequest: NodeJS.Timeout | undefined;

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

  /**
   * Asks the publisher for a keyframe, at most once per interval. A request inside the interval is
   * deferred to its end rather than dropped: a subscriber whose DTLS completes just after another's
   * request would otherwise show nothing until the publisher's next keyframe (seconds).
   */
  requestKeyframe(): void {
    if (this.kind !== 'video' || this.pendingKeyframeRequest) return;
    const wait = this.lastKeyframeRequestAt + KEYFRAME_REQUEST_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.pendingKeyframeRequest = setTimeout(() => {
        this.pendingKeyframeRequest = undefined;
        this.requestKeyframe();
      }, wait);
      this.pendingKeyframeRequest.unref();
      return;
    }
    const ssrc = this.lastSsrc ?? this.source.ssrc;
    if (ssrc === undefined) return;
    this.lastKeyframeRequestAt = Date.now();
    void this.receiver.sendRtcpPLI(ssrc);
  }

  close(): void {
    clearTimeout(this.pendingKeyframeRequest);
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
