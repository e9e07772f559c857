// A bot on LiveKit's Node SDK (@livekit/rtc-node, a Rust core over libwebrtc), the way a developer
// would write an agent or a recorder against our API: a token from POST /api/sessions/:id/participants,
// its own Room.connect, and on our socket.io `rejoin` push a fresh Room on the new node. No ResilientRoom.
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  DataPacketKind,
  LocalAudioTrack,
  LocalVideoTrack,
  ParticipantKind,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoFrame,
  VideoSource,
  VideoStream,
  type RemoteTrack,
} from '@livekit/rtc-node';
import type { JoinResponse, RejoinPayload } from '../../src/contracts';
import { connect, join, type ConnectedParticipant } from './session-client';

const WIDTH = 320;
const HEIGHT = 180;
const FRAME_INTERVAL_MS = 66;
const SAMPLE_RATE = 48_000;
const AUDIO_CHUNK_MS = 20;
/**
 * A dead node can leave Room.disconnect waiting: rtc-node's close waits for the engine's reconnect
 * attempt in flight (~3 s when a surviving member relayed the signal). The bot waits that long, as a
 * Room still alive past it could resume into the re-created room (see follow()); past this bound the
 * move goes on and the wait is kept among the bot's problems.
 */
const DISCONNECT_TIMEOUT_MS = 10_000;

export interface ReceivedData {
  from: string;
  text: string;
  kind: 'reliable' | 'lossy';
  topic?: string;
  /** Date.now() when it arrived. */
  at: number;
}

export interface BotOptions {
  publish?: boolean;
  /** More of the join's body (room settings, say) and its headers (an operator's token). */
  join?: { body?: Record<string, unknown>; headers?: Record<string, string> };
  /**
   * Where the Room connects for the URL the backend named (default: that URL), e.g. one member's own URL
   * in LiveKit's cluster, so that member relays the bot's signal to the member holding the room.
   */
  signalUrl?: (url: string, generation: number) => string | Promise<string>;
}

/** What one bot has received, by the sender's identity; counters survive moves. */
export interface Received {
  videoFrames: Map<string, number>;
  audioFrames: Map<string, number>;
  data: ReceivedData[];
}

export class RtcNodeBot {
  readonly received: Received = { videoFrames: new Map(), audioFrames: new Map(), data: [] };
  /**
   * Each connect: the URL the backend named, where the Room connected (signalUrl), and when the rejoin
   * push arrived and the new Room was connected.
   */
  readonly connections: Array<{
    url: string;
    via: string;
    generation: number;
    pushAt?: number;
    /** How long the old Room's disconnect took before this connect began (a move's only). */
    leftOldMs?: number;
    connectedAt: number;
  }> = [];
  /** The SDK's word on each Room's connection (Reconnecting, Reconnected, Disconnected), by generation, with performance.now(). */
  readonly roomEvents: Array<{ generation: number; event: string; at: number }> = [];
  /** The first video frame decoded from each sender after the latest move (performance.now()). */
  readonly firstFrameAfterMove = new Map<string, number>();
  private room: Room | undefined;
  private socket: ConnectedParticipant | undefined;
  private frameTimer: NodeJS.Timeout | undefined;
  private audioTimer: NodeJS.Timeout | undefined;
  private videoSource: VideoSource | undefined;
  private audioSource: AudioSource | undefined;
  private moving: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly errors: string[] = [];
  private leftAfterMs: number | undefined;

  private constructor(
    readonly joined: JoinResponse,
    private readonly options: BotOptions,
  ) {}

  get identity(): string {
    return this.joined.identity;
  }

  /** Problems met while following a move, for the test's failure message. */
  get problems(): string[] {
    return [...this.errors];
  }

  static async join(appUrl: string, sessionId: string, name: string, options: BotOptions = {}): Promise<RtcNodeBot> {
    const joined = await join(appUrl, sessionId, name, options.join?.body, options.join?.headers);
    const bot = new RtcNodeBot(joined, options);
    try {
      bot.socket = await connect(appUrl, joined);
      bot.socket.socket.on('rejoin', (payload) => bot.follow(payload, performance.now()));
      await bot.connectRoom(joined.url, joined.token, joined.generation);
    } catch (error) {
      await bot.close();
      throw error;
    }
    return bot;
  }

  async sendData(text: string, reliable: boolean): Promise<void> {
    await this.room!.localParticipant!.publishData(new TextEncoder().encode(text), { reliable, topic: 'bots' });
  }

  /**
   * The agents in the bot's room now, as the node holding the room tells its participants. (LiveKit's
   * ListParticipants in a cluster reads Redis, where a dead node's participants stay listed.)
   */
  agentsInRoom(): string[] {
    return [...(this.room?.remoteParticipants.values() ?? [])]
      .filter((p) => p.kind === ParticipantKind.AGENT)
      .map((p) => p.identity);
  }

  framesFrom(identity: string): number {
    return this.received.videoFrames.get(identity) ?? 0;
  }

  audioFramesFrom(identity: string): number {
    return this.received.audioFrames.get(identity) ?? 0;
  }

  /** Resolves once the move to `generation` (or later) is connected. */
  async waitForGeneration(generation: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.connections.some((c) => c.generation >= generation)) {
      if (Date.now() > deadline)
        throw new Error(
          `${this.identity} not moved to generation ${generation} within ${timeoutMs} ms (${this.errors.join('; ')})`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.moving;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopMedia();
    this.socket?.close();
    await this.leaveRoom();
  }

  /** The rejoin push: leave the old Room (its node is gone or going), connect to the new node. */
  private follow(payload: RejoinPayload, pushAt: number): void {
    this.moving = this.moving.then(async () => {
      if (this.closed || this.connections.some((c) => c.generation >= payload.generation)) return;
      this.firstFrameAfterMove.clear();
      // Awaited, unlike ResilientRoom (livekit-client's disconnect stops its reconnects at once): an
      // rtc-node Room whose signal a surviving member relayed keeps reconnecting through the cluster's
      // URL until its disconnect returns, and LiveKit resumes by identity alone (roommanager.go
      // StartSession), so a reconnect landing in the re-created room takes over the participant the new
      // Room joined as, or a full rejoin replaces it (seen with a 2 s bound here: a bot missing from
      // its room, another back 15 s late). What this wait costs a move (~3 s for the bots whose signal
      // was relayed) is the bot's, not the product's; `leftAt` records it.
      const leaving = performance.now();
      await this.leaveRoom();
      this.leftAfterMs = performance.now() - leaving;
      try {
        await this.connectRoom(payload.url, payload.token, payload.generation, pushAt);
      } catch (error) {
        this.errors.push(`connect to ${payload.url}: ${(error as Error).message}`);
      }
    });
  }

  private async connectRoom(url: string, token: string, generation: number, pushAt?: number): Promise<void> {
    const room = new Room();
    for (const event of [RoomEvent.Reconnecting, RoomEvent.Reconnected, RoomEvent.Disconnected] as const)
      room.on(event, () => this.roomEvents.push({ generation, event, at: performance.now() }));
    room.on(RoomEvent.TrackSubscribed, (track, _publication, participant) => this.consume(track, participant.identity));
    room.on(RoomEvent.DataReceived, (payload, participant, kind, topic) => {
      this.received.data.push({
        from: participant?.identity ?? '',
        text: new TextDecoder().decode(payload),
        kind: kind === DataPacketKind.KIND_LOSSY ? 'lossy' : 'reliable',
        topic,
        at: Date.now(),
      });
    });
    this.room = room;
    const via = this.options.signalUrl ? await this.options.signalUrl(url, generation) : url;
    await room.connect(via, token, { autoSubscribe: true, dynacast: false });
    this.connections.push({
      url,
      via,
      generation,
      pushAt,
      leftOldMs: this.leftAfterMs,
      connectedAt: performance.now(),
    });
    this.leftAfterMs = undefined;
    if (this.options.publish) await this.publish(room);
  }

  private consume(track: RemoteTrack, from: string): void {
    const room = this.room;
    const counters = track.kind === TrackKind.KIND_VIDEO ? this.received.videoFrames : this.received.audioFrames;
    const stream =
      track.kind === TrackKind.KIND_VIDEO ? new VideoStream(track) : new AudioStream(track, SAMPLE_RATE, 1);
    void (async () => {
      for await (const _frame of stream) {
        if (this.room !== room) break;
        counters.set(from, (counters.get(from) ?? 0) + 1);
        if (track.kind === TrackKind.KIND_VIDEO && !this.firstFrameAfterMove.has(from))
          this.firstFrameAfterMove.set(from, performance.now());
      }
    })().catch(() => undefined);
  }

  /** A camera fed synthetic frames (a moving gradient) and a microphone fed a 440 Hz tone. */
  private async publish(room: Room): Promise<void> {
    this.stopMedia();
    const videoSource = new VideoSource(WIDTH, HEIGHT);
    const audioSource = new AudioSource(SAMPLE_RATE, 1);
    this.videoSource = videoSource;
    this.audioSource = audioSource;
    const camera = new TrackPublishOptions();
    camera.source = TrackSource.SOURCE_CAMERA;
    const microphone = new TrackPublishOptions();
    microphone.source = TrackSource.SOURCE_MICROPHONE;
    await room.localParticipant!.publishTrack(LocalVideoTrack.createVideoTrack('camera', videoSource), camera);
    await room.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack('microphone', audioSource), microphone);

    const pixels = new Uint8Array(WIDTH * HEIGHT * 4);
    let tick = 0;
    this.frameTimer = setInterval(() => {
      tick++;
      for (let i = 0; i < pixels.length; i += 4) {
        pixels[i] = (i / 4 + tick * 4) % 256;
        pixels[i + 1] = (tick * 8) % 256;
        pixels[i + 2] = 128;
        pixels[i + 3] = 255;
      }
      videoSource.captureFrame(new VideoFrame(pixels, WIDTH, HEIGHT, VideoBufferType.RGBA));
    }, FRAME_INTERVAL_MS);

    const samples = (SAMPLE_RATE * AUDIO_CHUNK_MS) / 1000;
    let phase = 0;
    this.audioTimer = setInterval(() => {
      const chunk = new Int16Array(samples);
      for (let i = 0; i < samples; i++)
        chunk[i] = Math.round(Math.sin(((phase + i) * 2 * Math.PI * 440) / SAMPLE_RATE) * 8000);
      phase += samples;
      void audioSource.captureFrame(new AudioFrame(chunk, SAMPLE_RATE, 1, samples)).catch(() => undefined);
    }, AUDIO_CHUNK_MS);
  }

  private stopMedia(): void {
    clearInterval(this.frameTimer);
    clearInterval(this.audioTimer);
    void this.videoSource?.close().catch(() => undefined);
    void this.audioSource?.close().catch(() => undefined);
    this.videoSource = undefined;
    this.audioSource = undefined;
  }

  private async leaveRoom(): Promise<void> {
    const room = this.room;
    this.room = undefined;
    if (!room) return;
    const left = await Promise.race([
      room.disconnect().then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), DISCONNECT_TIMEOUT_MS)),
    ]);
    if (!left) this.errors.push(`the old Room's disconnect took over ${DISCONNECT_TIMEOUT_MS} ms`);
  }
}
