import {
  ConnectionState,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
  type LocalTrack,
  type Participant,
  type ScreenShareCaptureOptions,
  type TrackPublishOptions,
} from 'livekit-client';
import type { JoinResponse, RejoinPayload, RejoinResponse, WaitingForNodePayload } from '@contracts';
import { BACKEND_RETRY_BACKOFF, NO_NODE_RETRY_BACKOFF, backoffDelayMs, type BackoffSettings } from './backoff.policy';
import { watchFirstFrames } from './first-frame.watcher';
import { remoteFramesDecoded, remoteVideoStats, type RemoteVideoStats } from './frame-stats';
import { isCurrentWaiting, isNewerPlacement, rejoinAnswerAction } from './generation.policy';
import { DataLink } from './data/data-link';
import { ResilientRoomError } from './errors';
import { DEFAULT_SCREEN_SHARE, DEFAULT_VIDEO, LocalMedia, type PublishedSource } from './local-media';
import { Membership } from './membership';
import { roomTransports, watchMediaPath } from './media-path.watcher';
import { MoveLog } from './move.log';
import { participantViews } from './participant-views';
import { openRejoinSocket, type RejoinSocket } from './rejoin-socket';
import type {
  AppTrack,
  LogEntry,
  MoveTiming,
  MoveTrigger,
  ResilientRoomEvents,
  ResilientRoomOptions,
  ResilientRoomState,
  SendOptions,
  StateChange,
} from './resilient-room.types';
import { CONNECT_OPTIONS, roomOptions } from './room-options';
import { RoomStateMachine } from './room-state.machine';
import { SessionApiClient, SessionApiError } from './session-api.client';
import { TypedEmitter } from './typed-emitter';

export { MOVE_PEER_CONNECTION_TIMEOUT_MS, MOVE_WEBSOCKET_TIMEOUT_MS } from './room-options';
export { FIRST_FRAME_POLL_MS, FIRST_FRAME_WAIT_MS } from './first-frame.watcher';
export { MEDIA_PATH_CHECK_MS, MEDIA_PATH_REPEAT_MS } from './media-path.watcher';
export { SOCKET_RECONNECT_DELAY_MAX_MS, SOCKET_RECONNECT_DELAY_MS } from './rejoin-socket';

/** Disconnect reasons after which moving to another node would be wrong. */
const FINAL_DISCONNECT_REASONS = new Set<DisconnectReason>([
  DisconnectReason.DUPLICATE_IDENTITY,
  DisconnectReason.PARTICIPANT_REMOVED,
]);

interface Target {
  url: string;
  token: string;
  generation: number;
}

/**
 * A LiveKit room that survives the death of its media node: it learns of the loss from the SDK or from
 * the backend's `rejoin` push, whichever comes first, and moves everything this participant publishes to
 * the node the backend names, with a fresh token, without waiting for the SDK's backoff against a dead URL.
 *
 * The livekit-client Room it runs on is `room` (a new one after each move, announced by `roomChanged`);
 * the app hears LiveKit's participant, track, speaker, quality and data events from whichever Room is
 * current, with a move's own comings and goings filtered out (Membership), and sends data that survives
 * a move (DataLink).
 *
 * The pieces: RoomStateMachine (the state it reports), generation.policy (which placement wins), MoveLog
 * (each move's timings), LocalMedia (capture once, publish on every node), Membership, DataLink, the
 * rejoin socket and the first-frame watcher. This class wires them to the SDK's Room.
 */
export class ResilientRoom extends TypedEmitter<ResilientRoomEvents> {
  private readonly api: SessionApiClient;
  private readonly apiBase: string;
  private readonly media: LocalMedia;
  private readonly status = new RoomStateMachine();
  private readonly moveLog: MoveLog;
  private readonly membership: Membership;
  private readonly data: DataLink;
  private session?: JoinResponse;
  private socket?: RejoinSocket;
  private current?: Room;
  /** Rooms that reached `connected` at least once: only their losses start a recovery. */
  private readonly established = new WeakSet<Room>();
  private target?: Target;
  private joinCalled = false;
  /** A Room of ours connected at least once: later connects are moves (or resumes), and announce newcomers. */
  private hasConnected = false;
  private recoveryId = 0;
  private activeRecovery = 0;
  private consecutiveConnectFailures = 0;
  private speakers: Participant[] = [];
  private readonly pageHide = () => this.leaveOnUnload();

  constructor(private readonly options: ResilientRoomOptions = {}) {
    super();
    this.apiBase = options.apiBase ?? '';
    this.api = new SessionApiClient(this.apiBase, options.joinToken);
    this.media = new LocalMedia(options.video ?? DEFAULT_VIDEO);
    this.moveLog = new MoveLog({
      progress: (move) => this.emit('move-progress', move),
      finished: (move) => this.emit('move', move),
      log: (level, message) => this.log(level, message),
    });
    this.membership = new Membership({
      arrived: (p) => {
        this.log('info', `${p.name || p.identity} joined`);
        this.emit('participantConnected', p);
      },
      departed: (p) => {
        this.data.peerGone(p.identity);
        this.log('info', `${p.name || p.identity} left`);
        this.emit('participantDisconnected', p);
      },
      changed: () => this.emitParticipants(),
    });
    this.data = new DataLink(
      {
        connected: () => this.isConnected(),
        deliver: (message) => this.emit('dataReceived', message),
        bye: (identity) => this.membership.bye(identity),
        log: (level, message) => this.log(level, message),
      },
      options.data?.maxQueuedMessages,
    );
  }

  /** The livekit-client Room of the current node (undefined before join()); replaced at every move. */
  get room(): Room | undefined {
    return this.current;
  }
  get state(): ResilientRoomState {
    return this.status.state;
  }
  get stateChange(): StateChange {
    return this.status.change;
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
    return this.moveLog.all;
  }
  get isMuted(): { video: boolean; audio: boolean } {
    return this.media.muted;
  }
  get isScreenShareEnabled(): boolean {
    return !!this.media.get('screen');
  }
  /** The tracks the app published through publishTrack() (or on the Room itself), republished at every move. */
  get appTracks(): AppTrack[] {
    return this.media.all.filter((s) => s.id.startsWith('app-')).map(appTrack);
  }
  /** Reliable messages sent and not yet acknowledged by everyone meant to get them. */
  get queuedMessages(): number {
    return this.data.queued;
  }
  /** Participants that receive this one's reliable messages (they run the library too). */
  get dataPeers(): string[] {
    return this.data.peers;
  }

  /** framesDecoded per remote identity on the current node (inbound-rtp video). */
  framesDecoded(): Promise<Record<string, number>> {
    return remoteFramesDecoded(this.current);
  }

  /** inbound-rtp details per remote video track on the current node (diagnostics). */
  videoStats(): Promise<RemoteVideoStats[]> {
    return remoteVideoStats(this.current);
  }

  /**
   * Gets a token, captures camera and microphone, connects and publishes, and opens the socket.
   * Resolves once connected or once a recovery has taken over; rejects only when the backend refuses.
   */
  async join(sessionId: string, name: string): Promise<void> {
    if (this.joinCalled) throw new Error('join() was already called on this ResilientRoom');
    this.joinCalled = true;
    this.setState('joining', `joining "${sessionId}"`);
    const devices = this.options.devices ?? {};
    const [session] = await Promise.all([
      this.requestJoin(sessionId, name),
      this.media.capture(this.options.audio ?? true, { video: devices.videoinput, audio: devices.audioinput }),
    ]);
    if (this.state === 'left') return;
    this.session = session;
    this.target = { url: session.url, token: session.token, generation: session.generation };
    this.log('info', `joined as ${session.identity} on ${session.url} (generation ${session.generation})`);
    this.socket = openRejoinSocket(
      this.apiBase,
      session,
      {
        rejoin: (payload) => this.onRejoinPush(payload),
        waitingForNode: (payload) => this.onWaitingForNode(payload),
        log: (level, message) => this.log(level, message),
      },
      () => this.target?.generation,
    );
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

  /**
   * Sends data to the session. Reliable (the default): delivered exactly once and in order per sender,
   * across moves (queued while moving; resent until every receiver acknowledged it), and rejected with
   * `queue-full` past the queue's bound. Lossy: one try on the current node, dropped during a move.
   * Resolves once queued (reliable) or handed to the node (lossy). Rejects with a ResilientRoomError:
   * `left`, `not-joined`, `payload-too-large` (over LiveKit's per-packet limit, checked before sending).
   */
  async send(payload: Uint8Array | string, options: SendOptions = {}): Promise<void> {
    if (this.state === 'left')
      throw new ResilientRoomError(
        'left',
        'send(): this ResilientRoom has left the session; join again with a new one',
      );
    if (!this.joinCalled) throw new ResilientRoomError('not-joined', 'send(): call join() first');
    if (typeof payload !== 'string' && !(payload instanceof Uint8Array))
      throw new ResilientRoomError('bad-input', 'send(): the payload must be a string or a Uint8Array');
    this.data.send(payload, options);
  }

  async setMuted(kind: 'video' | 'audio', muted: boolean): Promise<void> {
    await this.media.setMuted(kind, muted);
    this.emitParticipants();
  }

  /** Capture from another camera or microphone (MediaDeviceInfo.deviceId); kept on every later node. */
  async switchDevice(kind: 'videoinput' | 'audioinput', deviceId: string): Promise<void> {
    this.assertActive('switchDevice');
    await this.media.switchDevice(kind, deviceId);
    this.emitParticipants();
  }

  /** Shares the screen (getDisplayMedia) on this node and every later one, until disabled or stopped by the browser. */
  async setScreenShareEnabled(
    enabled: boolean,
    options: ScreenShareCaptureOptions = DEFAULT_SCREEN_SHARE,
  ): Promise<void> {
    if (enabled) this.assertActive('setScreenShareEnabled');
    await this.media.setScreenShare(enabled, options, () => void this.setScreenShareEnabled(false));
  }

  /** Publishes one of the app's tracks (a canvas, a processed camera...) on this node and every later one. */
  async publishTrack(track: MediaStreamTrack | LocalTrack, options: TrackPublishOptions = {}): Promise<AppTrack> {
    this.assertActive('publishTrack');
    const media = track instanceof MediaStreamTrack ? track : track.mediaStreamTrack;
    return appTrack(await this.media.addAppTrack(media, options));
  }

  /** Stops publishing an app track (the track itself is the app's: it is not stopped). */
  async unpublishTrack(track: AppTrack | MediaStreamTrack): Promise<void> {
    const media = track instanceof MediaStreamTrack ? track : track.mediaStreamTrack;
    const source = this.media.all.find((s) => s.id.startsWith('app-') && s.mediaStreamTrack === media);
    if (source) await this.media.remove(source.id);
  }

  /** Leaves for good: the others hear a departure (not a move), and the backend will not invite it back. */
  async leave(): Promise<void> {
    if (this.state === 'left') return;
    await this.data.bye().catch(() => undefined);
    this.setState('left', 'you left the session');
    this.activeRecovery = 0;
    window.removeEventListener('pagehide', this.pageHide);
    const room = this.current;
    const session = this.session;
    this.socket?.disconnect();
    this.data.stop();
    this.membership.clear();
    await Promise.all([
      room?.disconnect().catch(() => undefined),
      session
        ? this.api.leave(session.sessionId, session.identity, session.rejoinKey).catch(() => undefined)
        : undefined,
    ]);
    this.media.stop();
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

  // ---- rooms -----------------------------------------------------------------------------------

  private createRoom(): Room {
    const room = new Room(roomOptions());
    const isCurrent = () => room === this.current;
    const live = () => isCurrent() && this.established.has(room);
    // The media path can die while the signal lives on (a node's UDP dropped): the SDK hears of it only
    // when ICE fails, about 30 s later, and the backend's probes never do. The watcher's word is evidence
    // for the backend, not a move: a node busy for a few seconds looks the same from here, and only when
    // enough of the session says so (its quorum) does the backend move everyone, with a push.
    watchMediaPath(
      roomTransports(room, () => this.target?.url),
      () => isCurrent() && !this.status.isFinal,
      (why) => {
        if (!live() || this.moveLog.unfinished) return;
        this.log('warn', `media path lost on ${this.target?.url}: ${why}; reported to the backend`);
        this.socket?.emit('media-lost', { url: this.target?.url ?? '' });
      },
    );
    room
      .on(RoomEvent.SignalReconnecting, () => isCurrent() && this.onLoss(room, 'signal-lost'))
      .on(RoomEvent.Reconnecting, () => isCurrent() && this.onLoss(room, 'media-lost'))
      .on(RoomEvent.Reconnected, () => isCurrent() && this.onResumed(room))
      .on(RoomEvent.Disconnected, (reason) => isCurrent() && this.onDisconnected(room, reason))
      .on(RoomEvent.ParticipantConnected, (p) => {
        if (!live()) return;
        this.membership.seen(p);
        this.data.peerPresent(p.identity);
      })
      .on(RoomEvent.ParticipantDisconnected, (p) => {
        if (live()) this.membership.dropped(p.identity);
      })
      .on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
        if (!isCurrent()) return;
        const move = this.moveLog.unfinished;
        if (move && track.kind === Track.Kind.Video) this.moveLog.mark(move, 'remoteVideo');
        this.emitParticipants();
        this.emit('trackSubscribed', track, publication, participant);
      })
      .on(RoomEvent.TrackUnsubscribed, (track, publication, participant) => {
        if (!isCurrent()) return;
        this.emitParticipants();
        this.emit('trackUnsubscribed', track, publication, participant);
      })
      .on(RoomEvent.TrackMuted, (publication, participant) => {
        if (!isCurrent()) return;
        if (participant.isLocal) this.media.mirrorMute(publication.track as LocalTrack | undefined, true);
        this.emitParticipants();
      })
      .on(RoomEvent.TrackUnmuted, (publication, participant) => {
        if (!isCurrent()) return;
        if (participant.isLocal) this.media.mirrorMute(publication.track as LocalTrack | undefined, false);
        this.emitParticipants();
      })
      .on(RoomEvent.LocalTrackPublished, (publication) => {
        // The app published on the Room itself (components-react's ControlBar shares the screen so): kept for later nodes.
        if (isCurrent() && !this.media.isOurs(publication.track)) this.media.adopt(publication);
      })
      .on(RoomEvent.LocalTrackUnpublished, (publication) => {
        if (isCurrent()) this.media.forgetPublication(publication.track);
      })
      .on(RoomEvent.ParticipantNameChanged, () => isCurrent() && this.emitParticipants())
      .on(RoomEvent.ActiveSpeakersChanged, (speakers) => {
        if (!isCurrent()) return;
        this.speakers = speakers;
        this.emit('activeSpeakersChanged', speakers);
      })
      .on(RoomEvent.ConnectionQualityChanged, (quality, participant) => {
        if (isCurrent()) this.emit('connectionQualityChanged', quality, participant);
      })
      .on(RoomEvent.DataReceived, (payload, participant, kind, topic) => {
        if (isCurrent()) this.data.onData(payload, participant, kind, topic);
      });
    return room;
  }

  /** `room` becomes the current Room: the previous one's tracks end for the app, and it is dropped unawaited. */
  private replaceRoom(room: Room): void {
    const previous = this.current;
    this.current = room;
    this.media.detach();
    this.data.attach(room);
    if (previous) {
      for (const participant of previous.remoteParticipants.values()) {
        for (const publication of participant.trackPublications.values()) {
          if (publication.track) this.emit('trackUnsubscribed', publication.track, publication, participant);
        }
      }
      // disconnect() stops local tracks unless told not to, and the captured media is shared with the next Room.
      void previous.disconnect(false).catch(() => undefined);
    }
    if (this.speakers.length > 0) {
      this.speakers = [];
      this.emit('activeSpeakersChanged', []);
    }
    this.emit('roomChanged', room, previous);
  }

  /**
   * Connects a fresh Room to `target` and publishes the local tracks; the previous Room is dropped unawaited.
   * Publishing starts at the signal's join answer, not after connect(): the SDK then puts the tracks in
   * (or right behind) its first publisher offer, so the renegotiation overlaps the ICE/DTLS handshake
   * instead of following it.
   */
  private async connectRoom(target: Target, move?: MoveTiming): Promise<void> {
    const room = this.createRoom();
    this.replaceRoom(room);
    let publishing: Promise<void> | undefined;
    // Only after the join answer: a publishTrack() made earlier arms the SDK's 15 s timer that stops the
    // (shared) camera track if that connect fails.
    room.once(RoomEvent.SignalConnected, () => {
      if (move) this.moveLog.mark(move, 'signal');
      if (room !== this.current) return;
      publishing = this.publishLocalTracks(room, move);
      // Awaited below once connected; a failed connect makes it reject, which nobody needs to hear.
      publishing.catch(() => undefined);
    });
    if (move) this.moveLog.mark(move, 'connecting');
    await room.connect(target.url, target.token, CONNECT_OPTIONS);
    if (room !== this.current) return;
    if (move) this.moveLog.progress(move, 'connectedAt');
    await (publishing ?? this.publishLocalTracks(room));
    if (room !== this.current) return;
    this.established.add(room);
    this.consecutiveConnectFailures = 0;
    if (move) this.moveLog.progress(move, 'publishedAt');
    this.setState('connected', move ? `back on ${target.url}` : `connected to ${target.url}`);
    // Connected: data flows again; everyone already here hears where our messages for them stand.
    this.membership.roomConnected(room, !this.hasConnected);
    this.hasConnected = true;
    for (const identity of room.remoteParticipants.keys()) this.data.peerPresent(identity);
    this.emitParticipants();
    if (move) {
      void watchFirstFrames(room, move, { moves: this.moveLog, isCurrent: (r) => r === this.current });
    }
  }

  private async publishLocalTracks(room: Room, move?: MoveTiming): Promise<void> {
    await this.media.publishAll(room, (id) => {
      if (move && (id === 'camera' || id === 'microphone'))
        this.moveLog.mark(move, id === 'camera' ? 'video' : 'audio');
    });
  }

  // ---- losing a node and moving ------------------------------------------------------------------

  private onLoss(room: Room, trigger: MoveTrigger): void {
    if (!this.established.has(room) || this.status.isFinal) return;
    const url = this.target?.url ?? '';
    if (this.moveLog.unfinished?.fromUrl === url) return;
    this.startMove(trigger, url);
    this.setState('rebuilding', trigger === 'signal-lost' ? 'lost the media node' : 'media connection failed');
    this.socket?.emit('media-lost', { url });
    void this.recover(url);
  }

  private onResumed(room: Room): void {
    // The SDK's quick RESUME worked: the node was only blipping.
    const move = this.moveLog.unfinished;
    if (move && move.tokenAt === undefined) {
      this.activeRecovery = 0;
      this.moveLog.finish(move, 'resumed');
      this.log('info', 'the media node came back by itself (resumed)');
    }
    if (room === this.current) {
      // Connected here, even when a publish failed on the way in (the move then asked the backend, which
      // kept this node): its losses count from now on, and whatever is not published here yet is tried again.
      this.established.add(room);
      this.publishLocalTracks(room).catch((err: unknown) =>
        this.log('warn', `could not publish every track on ${this.target?.url}: ${describe(err)}`),
      );
      this.setState('connected', `resumed on ${this.target?.url}`);
      this.membership.roomConnected(room, false);
      for (const identity of room.remoteParticipants.keys()) this.data.peerPresent(identity);
    }
  }

  private onDisconnected(room: Room, reason?: DisconnectReason): void {
    if (reason !== undefined && FINAL_DISCONNECT_REASONS.has(reason)) {
      this.setState('failed', `the media node ended this participant (${DisconnectReason[reason]})`);
      return;
    }
    if (reason === DisconnectReason.CLIENT_INITIATED && this.established.has(room)) {
      // The app disconnected the Room itself (components-react's leave button does): that is a leave.
      this.log('info', 'the app disconnected the room: leaving the session');
      void this.leave();
      return;
    }
    this.onLoss(room, 'disconnected');
  }

  private onRejoinPush(payload: RejoinPayload): void {
    if (this.status.isFinal) return;
    if (!isNewerPlacement(payload.generation, this.target?.generation)) {
      this.log(
        'info',
        `ignored a stale rejoin push (generation ${payload.generation} <= ${this.target?.generation ?? -1})`,
      );
      return;
    }
    this.log(
      'info',
      `the backend moved the session to ${payload.url} (${payload.reason}, generation ${payload.generation})`,
    );
    const move = this.moveLog.unfinished;
    if (!move || move.tokenAt !== undefined) this.startMove(`server:${payload.reason}`, this.target?.url ?? '');
    void this.moveTo(payload);
  }

  private onWaitingForNode(payload: WaitingForNodePayload): void {
    if (this.status.isFinal || !isCurrentWaiting(payload.generation, this.target?.generation)) return;
    this.setState('waiting-for-node', `waiting for a media node: ${payload.reason}`);
  }

  /** Asks the backend where to go (probing `failedUrl` first) until it names a node or refuses. */
  private async recover(failedUrl: string): Promise<void> {
    if (this.activeRecovery !== 0 || !this.session) return;
    const id = ++this.recoveryId;
    this.activeRecovery = id;
    const failedRoom = this.current;
    const { sessionId, identity, rejoinKey } = this.session;
    try {
      for (let attempt = 0; this.activeRecovery === id && !this.status.isFinal; attempt++) {
        let answer: RejoinResponse;
        try {
          answer = await this.api.rejoin(sessionId, identity, rejoinKey, failedUrl);
        } catch (err) {
          if (this.activeRecovery !== id || this.status.isFinal) return;
          if (!(err instanceof SessionApiError) || err.code === 'rejected') {
            this.setState('failed', `the backend refused the rejoin: ${describe(err)}`);
            return;
          }
          await this.waitBeforeRetry(err, attempt);
          continue;
        }
        if (this.activeRecovery !== id || this.status.isFinal) return;
        const action = rejoinAnswerAction(answer, {
          url: this.target?.url,
          generation: this.target?.generation,
          replacedSinceLoss: this.current !== failedRoom,
          connected: this.current?.state === ConnectionState.Connected,
        });
        if (action === 'ignore') return;
        if (action === 'resumed') return this.onResumed(this.current!);
        this.activeRecovery = 0;
        void this.moveTo(answer);
        return;
      }
    } finally {
      if (this.activeRecovery === id) this.activeRecovery = 0;
    }
  }

  private async moveTo(target: Target): Promise<void> {
    if (this.status.isFinal) return;
    this.activeRecovery = 0;
    const fromUrl = this.target?.url ?? '';
    this.target = { url: target.url, token: target.token, generation: target.generation };
    let move = this.moveLog.unfinished ?? this.startMove('disconnected', fromUrl);
    if (move.tokenAt !== undefined) {
      // A newer placement arrived while connecting: same incident, new attempt.
      this.moveLog.finish(move, 'superseded');
      move = this.startMove(move.trigger, move.fromUrl, move.detectedAt, move.expectedRemotes);
    }
    move.toUrl = target.url;
    move.generation = target.generation;
    this.moveLog.progress(move, 'tokenAt');
    this.setState('rebuilding', `moving to ${target.url}`);
    try {
      await this.connectRoom(this.target, move);
    } catch (err) {
      if (this.target.generation !== target.generation || this.status.isFinal || move.outcome !== undefined) return;
      this.log('warn', `could not connect to ${target.url}: ${describe(err)}`);
      this.moveLog.finish(move, 'connect-failed');
      this.startMove('connect-failed', target.url, move.detectedAt, move.expectedRemotes);
      const delay = backoffDelayMs(this.consecutiveConnectFailures++, BACKEND_RETRY_BACKOFF);
      await sleep(this.consecutiveConnectFailures > 1 ? delay : 0);
      if (this.target.generation === target.generation && !this.status.isFinal) void this.recover(target.url);
    }
  }

  private startMove(trigger: MoveTrigger, fromUrl: string, detectedAt?: number, expected?: string[]): MoveTiming {
    const move = this.moveLog.start(trigger, fromUrl, expected ?? this.membership.identities, detectedAt);
    this.membership.moveStarted();
    return move;
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** Connected on the current Room, no move under way: data goes out now rather than being held. */
  private isConnected(): boolean {
    return this.state === 'connected' && this.current?.state === ConnectionState.Connected;
  }

  private assertActive(method: string): void {
    if (this.state === 'left')
      throw new ResilientRoomError('left', `${method}(): this ResilientRoom has left the session`);
    if (!this.joinCalled) throw new ResilientRoomError('not-joined', `${method}(): call join() first`);
  }

  private async waitBeforeRetry(err: SessionApiError, attempt: number): Promise<void> {
    const noNode = err.code === 'no-node';
    const settings: BackoffSettings = noNode ? NO_NODE_RETRY_BACKOFF : BACKEND_RETRY_BACKOFF;
    const delay = backoffDelayMs(attempt, settings);
    const retryAt = Date.now() + delay;
    if (noNode) this.setState('waiting-for-node', `backend: ${err.message}`, retryAt);
    else
      this.setState(
        this.session ? 'rebuilding' : 'joining',
        `${err.message}; keeping what works and retrying`,
        retryAt,
      );
    await sleep(delay);
  }

  private leaveOnUnload(): void {
    if (!this.session || this.status.isFinal) return;
    void this.data.bye().catch(() => undefined);
    this.api.leaveOnUnload(this.session.sessionId, this.session.identity, this.session.rejoinKey);
  }

  private setState(state: ResilientRoomState, reason: string, retryAt?: number): void {
    const change = this.status.move(state, reason, retryAt);
    if (!change) return;
    this.log(state === 'failed' ? 'error' : 'info', `${state}: ${reason}`);
    this.emit('state', change);
  }

  private log(level: LogEntry['level'], message: string): void {
    this.emit('log', { at: Date.now(), level, message });
  }

  private emitParticipants(): void {
    this.emit(
      'participants',
      participantViews({
        session: this.session,
        left: this.state === 'left',
        preview: this.media.preview,
        muted: this.media.muted,
        remotes: new Map(this.membership.entries().map((m) => [m.identity, { name: m.name }])),
        room: this.current,
      }),
    );
  }
}

function appTrack(source: PublishedSource): AppTrack {
  return {
    id: source.id,
    mediaStreamTrack: source.mediaStreamTrack,
    name: source.options.name,
    source: source.options.source,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
