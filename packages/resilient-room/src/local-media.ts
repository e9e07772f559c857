import {
  ConnectionState,
  LocalAudioTrack,
  LocalVideoTrack,
  Track,
  createLocalScreenTracks,
  createLocalTracks,
  type LocalTrack,
  type LocalTrackPublication,
  type Room,
  type ScreenShareCaptureOptions,
  type TrackPublishOptions,
} from 'livekit-client';
import { ResilientRoomError } from './errors';

export interface VideoSettings {
  width: number;
  height: number;
  frameRate: number;
  maxBitrate: number;
}

export const DEFAULT_VIDEO: VideoSettings = { width: 640, height: 360, frameRate: 24, maxBitrate: 600_000 };
/** Screen capture unless the app asks otherwise: text stays legible, and a 2-core laptop keeps up. */
export const DEFAULT_SCREEN_SHARE: ScreenShareCaptureOptions = {
  audio: false,
  resolution: { width: 1280, height: 720, frameRate: 15 },
};

/** A track the library publishes on every node: camera, microphone, screen share, or one of the app's. */
export interface PublishedSource {
  /** `camera`, `microphone`, `screen`, `screen-audio`, or `app-N` for the app's tracks. */
  readonly id: string;
  mediaStreamTrack: MediaStreamTrack;
  readonly options: TrackPublishOptions & { source: Track.Source };
  /** Captured (or adopted) by the library, so it stops it when it is removed; the app's own tracks are the app's. */
  readonly owned: boolean;
  muted: boolean;
  /** Its LiveKit track on the Room it was last published on. */
  published?: { room: Room; track: LocalTrack };
}

/**
 * Everything this participant publishes, captured once and published again on every node the room
 * moves to, each as a fresh LiveKit track over the same MediaStreamTrack (so devices, mute states and
 * the capture itself survive a move).
 */
export class LocalMedia {
  /** Wraps the camera track and is never published, so moves never touch it. */
  preview?: LocalVideoTrack;
  private readonly sources = new Map<string, PublishedSource>();
  private readonly ours = new WeakSet<LocalTrack>();
  private room?: Room;
  private appTracks = 0;

  constructor(readonly settings: VideoSettings) {}

  get muted(): { video: boolean; audio: boolean } {
    return { video: this.sources.get('camera')?.muted ?? false, audio: this.sources.get('microphone')?.muted ?? false };
  }

  get all(): PublishedSource[] {
    return [...this.sources.values()];
  }

  get(id: string): PublishedSource | undefined {
    return this.sources.get(id);
  }

  /** Captures the camera (and the microphone), on the given devices if any. */
  async capture(audio: boolean, devices: { video?: string; audio?: string } = {}): Promise<void> {
    const { width, height, frameRate } = this.settings;
    const tracks = await createLocalTracks({
      audio: audio && (devices.audio ? { deviceId: devices.audio } : true),
      video: { resolution: { width, height, frameRate }, ...(devices.video && { deviceId: devices.video }) },
    });
    for (const track of tracks) {
      const source =
        track.kind === Track.Kind.Video
          ? this.cameraSource(track.mediaStreamTrack)
          : this.microphoneSource(track.mediaStreamTrack);
      this.sources.set(source.id, source);
    }
  }

  /** From now on, new sources are published on `room` at once; publishes every source there. */
  async publishAll(room: Room, onPublished?: (id: string) => void): Promise<void> {
    this.room = room;
    await Promise.all(this.all.map((source) => this.publishOn(room, source).then(() => onPublished?.(source.id))));
  }

  /** The Room was dropped (a move): nothing is published anywhere until the next publishAll. */
  detach(): void {
    this.room = undefined;
  }

  /** A LiveKit track this library created (as opposed to one the app published on the Room itself). */
  isOurs(track: LocalTrack | undefined): boolean {
    return !!track && this.ours.has(track);
  }

  async setMuted(kind: 'video' | 'audio', muted: boolean): Promise<void> {
    const source = this.sources.get(kind === 'video' ? 'camera' : 'microphone');
    if (!source) return;
    source.muted = muted;
    const track = this.current(source);
    if (track) await (muted ? track.mute() : track.unmute());
    else source.mediaStreamTrack.enabled = !muted;
  }

  /** The Room's own mute of one of our tracks (say, components-react's ControlBar): remembered for later nodes. */
  mirrorMute(track: LocalTrack | undefined, muted: boolean): boolean {
    const source = this.all.find((s) => s.published?.track === track);
    if (!source || source.muted === muted) return false;
    source.muted = muted;
    return true;
  }

  /** Capture from another camera or microphone; the published track switches in place. */
  async switchDevice(kind: 'videoinput' | 'audioinput', deviceId: string): Promise<void> {
    const source = this.sources.get(kind === 'videoinput' ? 'camera' : 'microphone');
    if (!source) throw new ResilientRoomError('bad-input', `switchDevice(): no ${kind} was captured to switch`);
    const { width, height, frameRate } = this.settings;
    const stream = await navigator.mediaDevices.getUserMedia(
      kind === 'videoinput'
        ? { video: { deviceId: { exact: deviceId }, width, height, frameRate } }
        : { audio: { deviceId: { exact: deviceId } } },
    );
    const next = kind === 'videoinput' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
    if (!next) throw new ResilientRoomError('bad-input', `switchDevice(): ${deviceId} gave no ${kind} track`);
    next.enabled = source.mediaStreamTrack.enabled;
    const previous = source.mediaStreamTrack;
    source.mediaStreamTrack = next;
    await this.current(source)?.replaceTrack(next, { userProvidedTrack: true });
    if (source.id === 'camera') this.preview = new LocalVideoTrack(next, undefined, true);
    previous.stop();
  }

  async setScreenShare(enabled: boolean, options: ScreenShareCaptureOptions, onEnded: () => void): Promise<void> {
    if (!enabled) return void (await Promise.all([this.remove('screen'), this.remove('screen-audio')]));
    if (this.sources.has('screen')) return;
    const tracks = await createLocalScreenTracks(options);
    for (const track of tracks) {
      const audio = track.kind === Track.Kind.Audio;
      const media = track.mediaStreamTrack;
      // The browser's own "Stop sharing" ends the capture: the share ends on every node.
      media.addEventListener('ended', onEnded, { once: true });
      await this.add({
        id: audio ? 'screen-audio' : 'screen',
        mediaStreamTrack: media,
        options: audio
          ? { source: Track.Source.ScreenShareAudio, dtx: false }
          : { source: Track.Source.ScreenShare, simulcast: false, videoCodec: 'vp8' },
        owned: true,
        muted: false,
      });
    }
  }

  /** One of the app's tracks, published on this node and every later one. */
  async addAppTrack(track: MediaStreamTrack, options: TrackPublishOptions = {}): Promise<PublishedSource> {
    if (track.readyState === 'ended')
      throw new ResilientRoomError('bad-input', 'publishTrack(): the track has ended; publish a live one');
    if (this.all.some((s) => s.mediaStreamTrack === track))
      throw new ResilientRoomError('bad-input', 'publishTrack(): this track is already published');
    const source: PublishedSource = {
      id: `app-${++this.appTracks}`,
      mediaStreamTrack: track,
      options: { ...options, source: options.source ?? Track.Source.Unknown },
      owned: false,
      muted: false,
    };
    await this.add(source);
    return source;
  }

  /** A track the app published on the Room itself (not through the library): kept for later nodes too. */
  adopt(publication: LocalTrackPublication): void {
    const track = publication.track;
    if (!track || this.isOurs(track) || !this.room) return;
    const source: PublishedSource = {
      id: `app-${++this.appTracks}`,
      mediaStreamTrack: track.mediaStreamTrack,
      options: { name: publication.trackName, source: publication.source },
      // The SDK captured it (setScreenShareEnabled on the Room): nobody else will stop it.
      owned: !track.isUserProvided,
      muted: track.isMuted,
      published: { room: this.room, track },
    };
    this.sources.set(source.id, source);
  }

  /** The app unpublished one of its tracks (or ours) on the Room itself: it is not published again. */
  forgetPublication(track: LocalTrack | undefined): PublishedSource | undefined {
    const source = this.all.find((s) => s.published?.track === track && s.published?.room === this.room);
    if (!source || source.id === 'camera' || source.id === 'microphone') return undefined;
    this.sources.delete(source.id);
    if (source.owned) source.mediaStreamTrack.stop();
    return source;
  }

  async remove(id: string): Promise<boolean> {
    const source = this.sources.get(id);
    if (!source) return false;
    this.sources.delete(id);
    const track = this.current(source);
    if (track && source.published) await source.published.room.localParticipant.unpublishTrack(track, false);
    if (source.owned) source.mediaStreamTrack.stop();
    return true;
  }

  stop(): void {
    for (const source of this.sources.values()) if (source.owned) source.mediaStreamTrack.stop();
    this.sources.clear();
    this.room = undefined;
  }

  private async add(source: PublishedSource): Promise<void> {
    this.sources.set(source.id, source);
    const room = this.room;
    if (room && room.state !== ConnectionState.Disconnected) await this.publishOn(room, source);
  }

  private current(source: PublishedSource): LocalTrack | undefined {
    return source.published && source.published.room === this.room ? source.published.track : undefined;
  }

  private async publishOn(room: Room, source: PublishedSource): Promise<void> {
    if (source.published?.room === room) return;
    const track =
      source.mediaStreamTrack.kind === 'video'
        ? new LocalVideoTrack(source.mediaStreamTrack, undefined, true)
        : new LocalAudioTrack(source.mediaStreamTrack, undefined, true);
    this.ours.add(track);
    source.published = { room, track };
    if (source.muted) await track.mute();
    try {
      await room.localParticipant.publishTrack(track, source.options);
    } catch (err) {
      // Not published here after all (say, the node's answer timed out): a later publishAll on this Room tries again.
      if (source.published?.track === track) source.published = undefined;
      throw err;
    }
  }

  private cameraSource(track: MediaStreamTrack): PublishedSource {
    this.preview = new LocalVideoTrack(track, undefined, true);
    return {
      id: 'camera',
      mediaStreamTrack: track,
      options: {
        source: Track.Source.Camera,
        simulcast: false,
        videoCodec: 'vp8',
        videoEncoding: { maxBitrate: this.settings.maxBitrate, maxFramerate: this.settings.frameRate },
      },
      owned: true,
      muted: false,
    };
  }

  private microphoneSource(track: MediaStreamTrack): PublishedSource {
    return {
      id: 'microphone',
      mediaStreamTrack: track,
      options: { source: Track.Source.Microphone, red: false, dtx: true },
      owned: true,
      muted: false,
    };
  }
}
