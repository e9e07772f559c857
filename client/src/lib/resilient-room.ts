import {
  ConnectionState,
  DisconnectReason,
  LocalAudioTrack,
  LocalVideoTrack,
  Room,
  RoomEvent,
  Track,
  createLocalTracks,
  type RemoteTrack,
  type RoomConnectOptions,
  type RoomOptions,
} from 'livekit-client';
import { io, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  JoinResponse,
  RejoinPayload,
  RejoinResponse,
  SESSION_NAMESPACE,
  ServerToClientEvents,
  SessionHandshakeAuth,
  WaitingForNodePayload,
} from '@contracts';
import {
  BACKEND_RETRY_BACKOFF,
  NO_NODE_RETRY_BACKOFF,
  QuickResumePolicy,
  backoffDelayMs,
  type BackoffSettings,
} from './backoff.policy';
import { remoteFramesDecoded, remoteVideoStats, type RemoteVideoStats } from './frame-stats';
import type {
  LogEntry,
  MoveTiming,
  MoveTrigger,
  ParticipantView,
  ResilientRoomEvents,
  ResilientRoomOptions,
  ResilientRoomState,
  StateChange,
} from './resilient-room.types';
import { SessionApiClient, SessionApiError } from './session-api.client';
import { TypedEmitter } from './typed-emitter';

// The contract file is imported for types only; the literal type keeps this copy honest.
const SESSION_NAMESPACE_PATH: typeof SESSION_NAMESPACE = '/session';

/** A move must fail fast on a node that died meanwhile (SDK default: 15 s each). */
export const MOVE_WEBSOCKET_TIMEOUT_MS = 4_000;
export const MOVE_PEER_CONNECTION_TIMEOUT_MS = 6_000;
/** How often a move looks for the first decoded remote frame (getStats), and for how long. */
export const FIRST_FRAME_POLL_MS = 40;
export const FIRST_FRAME_WAIT_MS = 15_000;
/** socket.io's own reconnection to the backend (its default: 1 s growing to 5 s). */
export const SOCKET_RECONNECT_DELAY_MS = 500;
export const SOCKET_RECONNECT_DELAY_MAX_MS = 3_000;

const DEFAULT_VIDEO = { width: 640, height: 360, frameRate: 24, maxBitrate: 600_000 };

const CONNECT_OPTIONS: RoomConnectOptions = {
  autoSubscribe: true,
  // The move logic retries on another node; the SDK retrying the same URL only delays it.
  maxRetries: 0,
  websocketTimeout: MOVE_WEBSOCKET_TIMEOUT_MS,
  peerConnectionTimeout: MOVE_PEER_CONNECTION_TIMEOUT_MS,
};

/** Disconnect reasons after which moving to another node would be wrong. */
const FINAL_DISCONNECT_REASONS = new Set<DisconnectReason>([
  DisconnectReason.DUPLICATE_IDENTITY,
  DisconnectReason.PARTICIPANT_REMOVED,
]);

interface Capture {
  video?: MediaStreamTrack;
  audio?: MediaStreamTrack;
}

interface Target {
  url: string;
  token: string;
  generation: number;
}

/**
 * A LiveKit room that survives the death of its media node: it learns of the loss from the SDK or from
 * the backend's `rejoin` push, whichever comes first, and moves every local track to the node the backend
 * names, with a fresh token, without waiting for the SDK's backoff against a dead URL.
 */
export class ResilientRoom extends TypedEmitter<ResilientRoomEvents> {
  private readonly api: SessionApiClient;
  private readonly apiBase: string;
  private readonly video: typeof DEFAULT_VIDEO;
  private session?: JoinResponse;
  private socket?: Socket<ServerToClientEvents, ClientToServerEvents>;
  private room?: Room;
  /** Rooms that reached `connected` at least once: only their losses start a recovery. */
  private readonly established = new WeakSet<Room>();
  private target?: Target;
  private capture: Capture = {};
  private preview?: LocalVideoTrack;
  private published: { video?: LocalVideoTrack; audio?: LocalAudioTrack } = {};
  private readonly muted = { video: false, audio: false };
  private current: StateChange = { state: 'joining', reason: 'not joined yet', since: Date.now() };
  private readonly moveLog: MoveTiming[] = [];
  private activeMove?: MoveTiming;
  private recoveryId = 0;
  private activeRecovery = 0;
  private consecutiveConnectFailures = 0;
  /** Remote participants shown in the UI, kept across a move until they are back or gone. */
  private readonly remotes = new Map<string, { name: string }>();
  private readonly pageHide = () => this.leaveOnUnload();

  constructor(private readonly options: ResilientRoomOptions = {}) {
    super();
    this.apiBase = options.apiBase ?? '';
    this.api = new SessionApiClient(this.apiBase);
    this.video = options.video ?? DEFAULT_VIDEO;
  }

  get state(): ResilientRoomState {
    return this.current.state;
  }
  get stateChange(): StateChange {
    return this.current;
  }
  get identity(): string | undefined {
    return this.session?.identity;
  }
  get sessionId(): string | undefined {
    return this.session?.sessionId;
  }
  get url(): string | undefined {
    return this.target?.url;
  }
  get generation(): number | undefined {
    return this.target?.generation;
  }
  get moves(): readonly MoveTiming[] {
    return this.moveLog;
  }
  get isMuted(): { video: boolean; audio: boolean } {
    return { ...this.muted };
  }

  /** framesDecoded per remote identity on the current node (inbound-rtp video). */
  framesDecoded(): Promise<Record<string, number>> {
    return remoteFramesDecoded(this.room);
  }

  /** inbound-rtp details per remote video track on the current node (diagnostics). */
  videoStats(): Promise<RemoteVideoStats[]> {
    return remoteVideoStats(this.room);
  }

  /**
   * Gets a token, captures camera and microphone, connects and publishes, and opens the socket.
   * Resolves once connected or once a recovery has taken over; rejects only when the backend refuses.
   */
  async join(sessionId: string, name: string): Promise<void> {
    if (this.session) throw new Error('join() was already called on this ResilientRoom');
    this.setState('joining', `joining "${sessionId}"`);
    const [session] = await Promise.all([this.requestJoin(sessionId, name), this.captureLocalTracks()]);
    if (this.state === 'left') return;
    this.session = session;
    this.target = { url: session.url, token: session.token, generation: session.generation };
    this.log('info', `joined as ${session.identity} on ${session.url} (generation ${session.generation})`);
    this.openSocket(session);
    window.addEventListener('pagehide', this.pageHide);
    this.emitParticipants();
    try {
      await this.connectRoom(this.target);
    } catch (err) {
      this.log('warn', `first connect to ${session.url} failed: ${describe(err)}`);
      this.startMove('connect-failed', session.url);
      this.setState('rebuilding', `could not reach ${session.url}`);
      void this.recover(session.url);
    }
  }

  async setMuted(kind: 'video' | 'audio', muted: boolean): Promise<void> {
    this.muted[kind] = muted;
    const track = this.published[kind];
    if (track) await (muted ? track.mute() : track.unmute());
    else {
      const raw = this.capture[kind];
      if (raw) raw.enabled = !muted;
    }
    this.emitParticipants();
  }

  /** Leaves for good: the backend forgets this participant and will not invite it back. */
  async leave(): Promise<void> {
    if (this.state === 'left') return;
    this.setState('left', 'you left the session');
    this.activeRecovery = 0;
    window.removeEventListener('pagehide', this.pageHide);
    const room = this.room;
    this.room = undefined;
    const session = this.session;
    this.socket?.disconnect();
    await Promise.all([
      room?.disconnect().catch(() => undefined),
      session ? this.api.leave(session.sessionId, session.identity, session.rejoinKey).catch(() => undefined) : undefined,
    ]);
    this.capture.video?.stop();
    this.capture.audio?.stop();
    this.emitParticipants();
  }

  // ---- joining ---------------------------------------------------------------------------------

  private async requestJoin(sessionId: string, name: string): Promise<JoinResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.api.join(sessionId, name, this.options.metadata);
      } catch (err) {
        if (!(err instanceof SessionApiError) || err.code === 'rejected' || this.state === 'left') {
          this.setState('failed', `the backend refused to join: ${describe(err)}`);
          throw err;
        }
        await this.waitBeforeRetry(err, attempt);
      }
    }
  }

  private async captureLocalTracks(): Promise<void> {
    const tracks = await createLocalTracks({
      audio: this.options.audio ?? true,
      video: { resolution: { width: this.video.width, height: this.video.height, frameRate: this.video.frameRate } },
    });
    for (const track of tracks) {
      if (track.kind === Track.Kind.Video) this.capture.video = track.mediaStreamTrack;
      if (track.kind === Track.Kind.Audio) this.capture.audio = track.mediaStreamTrack;
    }
    // The preview wraps the same camera track and is never published, so moves never touch it.
    if (this.capture.video) this.preview = new LocalVideoTrack(this.capture.video, undefined, true);
  }

  private openSocket(session: JoinResponse): void {
    const auth: SessionHandshakeAuth = {
      sessionId: session.sessionId,
      identity: session.identity,
      rejoinKey: session.rejoinKey,
    };
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`${this.apiBase}${SESSION_NAMESPACE_PATH}`, {
      auth,
      transports: ['websocket'],
      reconnectionDelay: SOCKET_RECONNECT_DELAY_MS,
      reconnectionDelayMax: SOCKET_RECONNECT_DELAY_MAX_MS,
    });
    socket.on('rejoin', (payload) => this.onRejoinPush(payload));
    socket.on('waiting-for-node', (payload) => this.onWaitingForNode(payload));
    socket.on('connect', () => this.log('info', 'realtime channel to the backend open'));
    socket.on('disconnect', (reason) => this.log('warn', `realtime channel closed (${reason}); media keeps flowing`));
    socket.on('connect_error', (err) => this.log('warn', `realtime channel: ${err.message}`));
    this.socket = socket;
  }

  // ---- rooms -----------------------------------------------------------------------------------

  private createRoom(): Room {
    const options: RoomOptions = {
      adaptiveStream: false,
      dynacast: false,
      // Local tracks outlive every Room: a move republishes the same camera and microphone.
      stopLocalTrackOnUnpublish: false,
      reconnectPolicy: new QuickResumePolicy(),
      // The dev cluster (and LiveKit < 1.9) answer /rtc/v1 with 404; skipping that try saves a round trip.
      singlePeerConnection: false,
      publishDefaults: { simulcast: false, videoCodec: 'vp8', red: false, dtx: true },
    };
    const room = new Room(options);
    const isCurrent = () => room === this.room;
    room
      .on(RoomEvent.SignalReconnecting, () => isCurrent() && this.onLoss(room, 'signal-lost'))
      .on(RoomEvent.Reconnecting, () => isCurrent() && this.onLoss(room, 'media-lost'))
      .on(RoomEvent.Reconnected, () => isCurrent() && this.onResumed(room))
      .on(RoomEvent.Disconnected, (reason) => isCurrent() && this.onDisconnected(room, reason))
      .on(RoomEvent.ParticipantConnected, (p) => {
        if (!isCurrent()) return;
        this.remotes.set(p.identity, { name: p.name || p.identity });
        this.emitParticipants();
      })
      .on(RoomEvent.ParticipantDisconnected, (p) => {
        if (!isCurrent()) return;
        this.remotes.delete(p.identity);
        this.log('info', `${p.name || p.identity} left`);
        this.emitParticipants();
      })
      .on(RoomEvent.TrackSubscribed, (track) => {
        if (!isCurrent()) return;
        const move = this.activeMove;
        if (move && move.outcome === undefined && track.kind === Track.Kind.Video) this.mark(move, 'remoteVideo');
        this.emitParticipants();
      })
      .on(RoomEvent.TrackUnsubscribed, () => isCurrent() && this.emitParticipants())
      .on(RoomEvent.TrackMuted, () => isCurrent() && this.emitParticipants())
      .on(RoomEvent.TrackUnmuted, () => isCurrent() && this.emitParticipants())
      .on(RoomEvent.ParticipantNameChanged, () => isCurrent() && this.emitParticipants());
    return room;
  }

  /**
   * Connects a fresh Room to `target` and publishes the local tracks; the previous Room is dropped unawaited.
   * Publishing starts at the signal's join answer, not after connect(): the SDK then puts the tracks in
   * (or right behind) its first publisher offer, so the renegotiation overlaps the ICE/DTLS handshake
   * instead of following it.
   */
  private async connectRoom(target: Target, move?: MoveTiming): Promise<void> {
    const previous = this.room;
    const room = this.createRoom();
    this.room = room;
    // disconnect() stops local tracks unless told not to (its own default beats stopLocalTrackOnUnpublish),
    // and the camera track is shared with the next Room.
    if (previous) void previous.disconnect(false).catch(() => undefined);
    let publishing: Promise<void> | undefined;
    // Only after the join answer: a publishTrack() made earlier arms the SDK's 15 s timer that stops the
    // (shared) camera track if that connect fails.
    room.once(RoomEvent.SignalConnected, () => {
      if (move) this.mark(move, 'signal');
      if (room !== this.room) return;
      publishing = this.publishLocalTracks(room, move);
      // Awaited below once connected; a failed connect makes it reject, which nobody needs to hear.
      publishing.catch(() => undefined);
    });
    if (move) this.mark(move, 'connecting');
    await room.connect(target.url, target.token, CONNECT_OPTIONS);
    if (room !== this.room) return;
    if (move) this.progress(move, 'connectedAt');
    for (const p of room.remoteParticipants.values()) this.remotes.set(p.identity, { name: p.name || p.identity });
    await (publishing ?? this.publishLocalTracks(room));
    if (room !== this.room) return;
    this.established.add(room);
    this.consecutiveConnectFailures = 0;
    if (move) this.progress(move, 'publishedAt');
    this.setState('connected', move ? `back on ${target.url}` : `connected to ${target.url}`);
    this.emitParticipants();
    if (move) void this.watchFirstFrames(room, move);
  }

  private async publishLocalTracks(room: Room, move?: MoveTiming): Promise<void> {
    const video = this.capture.video ? new LocalVideoTrack(this.capture.video, undefined, true) : undefined;
    const audio = this.capture.audio ? new LocalAudioTrack(this.capture.audio, undefined, true) : undefined;
    if (video && this.muted.video) await video.mute();
    if (audio && this.muted.audio) await audio.mute();
    await Promise.all([
      video &&
        room.localParticipant.publishTrack(video, {
          source: Track.Source.Camera,
          simulcast: false,
          videoCodec: 'vp8',
          videoEncoding: { maxBitrate: this.video.maxBitrate, maxFramerate: this.video.frameRate },
        }).then(() => move && this.mark(move, 'video')),
      audio &&
        room.localParticipant
          .publishTrack(audio, { source: Track.Source.Microphone, red: false, dtx: true })
          .then(() => move && this.mark(move, 'audio')),
    ]);
    if (room === this.room) this.published = { video, audio };
  }

  // ---- losing a node and moving ------------------------------------------------------------------

  private onLoss(room: Room, trigger: MoveTrigger): void {
    if (!this.established.has(room) || this.isFinal()) return;
    const url = this.target?.url ?? '';
    if (this.activeMove && this.activeMove.outcome === undefined && this.activeMove.fromUrl === url) return;
    this.startMove(trigger, url);
    this.setState('rebuilding', trigger === 'signal-lost' ? 'lost the media node' : 'media connection failed');
    this.socket?.emit('media-lost', { url });
    void this.recover(url);
  }

  private onResumed(room: Room): void {
    // The SDK's quick RESUME worked: the node was only blipping.
    const move = this.activeMove;
    if (move && move.tokenAt === undefined && move.outcome === undefined) {
      this.activeRecovery = 0;
      this.finishMove(move, 'resumed');
      this.log('info', 'the media node came back by itself (resumed)');
    }
    if (room === this.room) this.setState('connected', `resumed on ${this.target?.url}`);
  }

  private onDisconnected(room: Room, reason?: DisconnectReason): void {
    if (reason !== undefined && FINAL_DISCONNECT_REASONS.has(reason)) {
      this.setState('failed', `the media node ended this participant (${DisconnectReason[reason]})`);
      return;
    }
    this.onLoss(room, 'disconnected');
  }

  private onRejoinPush(payload: RejoinPayload): void {
    if (this.isFinal()) return;
    const known = this.target?.generation ?? -1;
    if (payload.generation <= known) {
      this.log('info', `ignored a stale rejoin push (generation ${payload.generation} <= ${known})`);
      return;
    }
    this.log('info', `the backend moved the session to ${payload.url} (${payload.reason}, generation ${payload.generation})`);
    if (!this.activeMove || this.activeMove.outcome !== undefined || this.activeMove.tokenAt !== undefined) {
      this.startMove(`server:${payload.reason}`, this.target?.url ?? '');
    }
    void this.moveTo(payload);
  }

  private onWaitingForNode(payload: WaitingForNodePayload): void {
    if (this.isFinal() || payload.generation < (this.target?.generation ?? 0)) return;
    this.setState('waiting-for-node', `waiting for a media node: ${payload.reason}`);
  }

  /** Asks the backend where to go (probing `failedUrl` first) until it names a node or refuses. */
  private async recover(failedUrl: string): Promise<void> {
    if (this.activeRecovery !== 0 || !this.session) return;
    const id = ++this.recoveryId;
    this.activeRecovery = id;
    const failedRoom = this.room;
    const { sessionId, identity, rejoinKey } = this.session;
    try {
      for (let attempt = 0; this.activeRecovery === id && !this.isFinal(); attempt++) {
        let answer: RejoinResponse;
        try {
          answer = await this.api.rejoin(sessionId, identity, rejoinKey, failedUrl);
        } catch (err) {
          if (this.activeRecovery !== id || this.isFinal()) return;
          if (!(err instanceof SessionApiError) || err.code === 'rejected') {
            this.setState('failed', `the backend refused the rejoin: ${describe(err)}`);
            return;
          }
          await this.waitBeforeRetry(err, attempt);
          continue;
        }
        if (this.activeRecovery !== id || this.isFinal()) return;
        const known = this.target?.generation ?? -1;
        if (answer.generation < known || (answer.generation === known && this.room !== failedRoom)) return;
        if (answer.generation === known && answer.url === this.target?.url && this.room?.state === ConnectionState.Connected) {
          this.onResumed(this.room);
          return;
        }
        this.activeRecovery = 0;
        void this.moveTo(answer);
        return;
      }
    } finally {
      if (this.activeRecovery === id) this.activeRecovery = 0;
    }
  }

  private async moveTo(target: Target): Promise<void> {
    if (this.isFinal()) return;
    this.activeRecovery = 0;
    const fromUrl = this.target?.url ?? '';
    this.target = { url: target.url, token: target.token, generation: target.generation };
    let move = this.activeMove;
    if (!move || move.outcome !== undefined) move = this.startMove('disconnected', fromUrl);
    if (move.tokenAt !== undefined) {
      // A newer placement arrived while connecting: same incident, new attempt.
      this.finishMove(move, 'superseded');
      move = this.startMove(move.trigger, move.fromUrl, move.detectedAt, move.expectedRemotes);
    }
    move.toUrl = target.url;
    move.generation = target.generation;
    this.progress(move, 'tokenAt');
    this.setState('rebuilding', `moving to ${target.url}`);
    try {
      await this.connectRoom(this.target, move);
    } catch (err) {
      if (this.target.generation !== target.generation || this.isFinal() || move.outcome !== undefined) return;
      this.log('warn', `could not connect to ${target.url}: ${describe(err)}`);
      this.finishMove(move, 'connect-failed');
      this.startMove('connect-failed', target.url, move.detectedAt, move.expectedRemotes);
      const delay = backoffDelayMs(this.consecutiveConnectFailures++, BACKEND_RETRY_BACKOFF);
      await sleep(this.consecutiveConnectFailures > 1 ? delay : 0);
      if (this.target.generation === target.generation && !this.isFinal()) void this.recover(target.url);
    }
  }

  private async watchFirstFrames(room: Room, move: MoveTiming): Promise<void> {
    const deadline = performance.now() + FIRST_FRAME_WAIT_MS;
    // A frame shown in a <video> the track is attached to (the app's tile) is seen at once through
    // requestVideoFrameCallback; getStats' framesDecoded, polled, covers tracks nobody shows.
    const shown = new Set<string>();
    const hooked = new WeakSet<HTMLVideoElement>();
    while (move.outcome === undefined) {
      if (room !== this.room) return this.finishMove(move, 'superseded');
      this.hookFrameCallbacks(room, shown, hooked, () => this.checkFirstFrames(room, move, shown));
      const frames = await remoteFramesDecoded(room);
      for (const [identity, count] of Object.entries(frames)) if (count > 0) shown.add(identity);
      if (this.checkFirstFrames(room, move, shown)) return;
      if (performance.now() > deadline) {
        // Whoever is still missing left during the incident, or never came back.
        for (const identity of move.expectedRemotes) {
          if (!room.remoteParticipants.has(identity)) this.remotes.delete(identity);
        }
        this.emitParticipants();
        return this.finishMove(move, move.firstFrameAt === undefined ? 'no-frames' : 'done');
      }
      await sleep(FIRST_FRAME_POLL_MS);
    }
  }

  /** Records the first-frame instants from `decoded`; true once the move is over. */
  private checkFirstFrames(room: Room, move: MoveTiming, decoded: Set<string>): boolean {
    if (move.outcome !== undefined || room !== this.room) return true;
    if (decoded.size > 0 && move.firstFrameAt === undefined) this.progress(move, 'firstFrameAt');
    if (!move.expectedRemotes.every((identity) => decoded.has(identity))) return false;
    if (move.expectedRemotes.length > 0) this.progress(move, 'allFramesAt');
    this.finishMove(move, 'done');
    return true;
  }

  private hookFrameCallbacks(room: Room, shown: Set<string>, hooked: WeakSet<HTMLVideoElement>, onFrame: () => void): void {
    for (const participant of room.remoteParticipants.values()) {
      const track = participant.getTrackPublication(Track.Source.Camera)?.track;
      for (const element of track?.attachedElements ?? []) {
        if (!(element instanceof HTMLVideoElement) || hooked.has(element) || !('requestVideoFrameCallback' in element)) continue;
        hooked.add(element);
        element.requestVideoFrameCallback(() => {
          if (element.srcObject instanceof MediaStream && element.srcObject.getVideoTracks()[0] !== track?.mediaStreamTrack) return;
          shown.add(participant.identity);
          onFrame();
        });
      }
    }
  }

  private startMove(trigger: MoveTrigger, fromUrl: string, detectedAt = now(), expected?: string[]): MoveTiming {
    const move: MoveTiming = {
      seq: this.moveLog.length + 1,
      trigger,
      fromUrl,
      detectedAt,
      expectedRemotes: expected ?? [...this.remotes.keys()],
    };
    this.moveLog.push(move);
    this.activeMove = move;
    this.log('warn', `move ${move.seq}: ${trigger} on ${fromUrl || 'no node'}`);
    this.emit('move-progress', move);
    return move;
  }

  private progress(move: MoveTiming, step: 'tokenAt' | 'connectedAt' | 'publishedAt' | 'firstFrameAt' | 'allFramesAt'): void {
    move[step] = now();
    this.emit('move-progress', move);
  }

  /** A diagnostic instant inside a step (first occurrence only); not part of the step contract. */
  private mark(move: MoveTiming, name: string): void {
    move.marks ??= {};
    move.marks[name] ??= now();
  }

  private finishMove(move: MoveTiming, outcome: NonNullable<MoveTiming['outcome']>): void {
    if (move.outcome !== undefined) return;
    move.outcome = outcome;
    if (outcome === 'done' && move.firstFrameAt !== undefined) {
      this.log('info', `move ${move.seq}: video back ${Math.round(move.firstFrameAt - move.detectedAt)} ms after the loss was noticed`);
    }
    this.emit('move', move);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private async waitBeforeRetry(err: SessionApiError, attempt: number): Promise<void> {
    const noNode = err.code === 'no-node';
    const settings: BackoffSettings = noNode ? NO_NODE_RETRY_BACKOFF : BACKEND_RETRY_BACKOFF;
    const delay = backoffDelayMs(attempt, settings);
    const retryAt = Date.now() + delay;
    if (noNode) this.setState('waiting-for-node', `backend: ${err.message}`, retryAt);
    else this.setState(this.session ? 'rebuilding' : 'joining', `${err.message}; keeping what works and retrying`, retryAt);
    await sleep(delay);
  }

  private leaveOnUnload(): void {
    if (!this.session || this.isFinal()) return;
    this.api.leaveOnUnload(this.session.sessionId, this.session.identity, this.session.rejoinKey);
  }

  private isFinal(): boolean {
    return this.current.state === 'left' || this.current.state === 'failed';
  }

  private setState(state: ResilientRoomState, reason: string, retryAt?: number): void {
    if (this.isFinal() && state !== 'left') return;
    // Keep `since` while the state stays the same, so a countdown shows the whole outage.
    const since = state === this.current.state ? this.current.since : Date.now();
    this.current = { state, reason, since, retryAt };
    this.log(state === 'failed' ? 'error' : 'info', `${state}: ${reason}`);
    this.emit('state', this.current);
  }

  private log(level: LogEntry['level'], message: string): void {
    this.emit('log', { at: Date.now(), level, message });
  }

  private emitParticipants(): void {
    const views: ParticipantView[] = [];
    if (this.session && this.state !== 'left') {
      views.push({
        identity: this.session.identity,
        name: this.session.name,
        isLocal: true,
        videoTrack: this.preview,
        videoMuted: this.muted.video,
        audioMuted: this.muted.audio,
        reconnecting: false,
      });
    }
    const room = this.state === 'left' ? undefined : this.room;
    for (const [identity, { name }] of this.remotes) {
      const participant = room?.remoteParticipants.get(identity);
      const video = participant?.getTrackPublication(Track.Source.Camera);
      const audio = participant?.getTrackPublication(Track.Source.Microphone);
      views.push({
        identity,
        name: participant?.name || name,
        isLocal: false,
        videoTrack: video?.track,
        audioTrack: audio?.track as RemoteTrack | undefined,
        videoMuted: video?.isMuted ?? false,
        audioMuted: audio?.isMuted ?? false,
        reconnecting: !participant,
      });
    }
    this.emit('participants', views);
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
