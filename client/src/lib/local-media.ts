import { LocalAudioTrack, LocalVideoTrack, Room, Track, createLocalTracks } from 'livekit-client';

export interface VideoSettings {
  width: number;
  height: number;
  frameRate: number;
  maxBitrate: number;
}

export const DEFAULT_VIDEO: VideoSettings = { width: 640, height: 360, frameRate: 24, maxBitrate: 600_000 };

/** The camera and microphone, captured once and published again on every node the room moves to. */
export class LocalMedia {
  video?: MediaStreamTrack;
  audio?: MediaStreamTrack;
  /** Wraps the same camera track and is never published, so moves never touch it. */
  preview?: LocalVideoTrack;
  readonly muted = { video: false, audio: false };

  constructor(readonly settings: VideoSettings) {}

  async capture(audio: boolean): Promise<void> {
    const { width, height, frameRate } = this.settings;
    const tracks = await createLocalTracks({ audio, video: { resolution: { width, height, frameRate } } });
    for (const track of tracks) {
      if (track.kind === Track.Kind.Video) this.video = track.mediaStreamTrack;
      if (track.kind === Track.Kind.Audio) this.audio = track.mediaStreamTrack;
    }
    if (this.video) this.preview = new LocalVideoTrack(this.video, undefined, true);
  }

  /**
   * Publishes fresh LiveKit tracks over the same captured media on `room`; `onPublished` hears each kind
   * as it lands (a move's diagnostic marks). Answers what was published.
   */
  async publish(
    room: Room,
    onPublished?: (kind: 'video' | 'audio') => void,
  ): Promise<{ video?: LocalVideoTrack; audio?: LocalAudioTrack }> {
    const video = this.video ? new LocalVideoTrack(this.video, undefined, true) : undefined;
    const audio = this.audio ? new LocalAudioTrack(this.audio, undefined, true) : undefined;
    if (video && this.muted.video) await video.mute();
    if (audio && this.muted.audio) await audio.mute();
    await Promise.all([
      video &&
        room.localParticipant
          .publishTrack(video, {
            source: Track.Source.Camera,
            simulcast: false,
            videoCodec: 'vp8',
            videoEncoding: { maxBitrate: this.settings.maxBitrate, maxFramerate: this.settings.frameRate },
          })
          .then(() => onPublished?.('video')),
      audio &&
        room.localParticipant
          .publishTrack(audio, { source: Track.Source.Microphone, red: false, dtx: true })
          .then(() => onPublished?.('audio')),
    ]);
    return { video, audio };
  }

  stop(): void {
    this.video?.stop();
    this.audio?.stop();
  }
}
