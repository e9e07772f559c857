import {
  ConnectionState,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
  type LocalAudioTrack,
  type LocalVideoTrack,
} from 'livekit-client';
import type { JoinResponse, RejoinPayload, RejoinResponse, WaitingForNodePayload } from '@contracts';
import { BACKEND_RETRY_BACKOFF, NO_NODE_RETRY_BACKOFF, backoffDelayMs, type BackoffSettings } from './backoff.policy';
import { watchFirstFrames } from './first-frame.watcher';
import { remoteFramesDecoded, remoteVideoStats, type RemoteVideoStats } from './frame-stats';
import { isCurrentWaiting, isNewerPlacement, rejoinAnswerAction } from './generation.policy';
import { DEFAULT_VIDEO, LocalMedia } from './local-media';
import { MoveLog } from './move.log';
import { participantViews } from './participant-views';
import { openRejoinSocket, type RejoinSocket } from './rejoin-socket';
import type {
  LogEntry,
  MoveTiming,
  MoveTrigger,
  ResilientRoomEvents,
  ResilientRoomOptions,
  ResilientRoomState,
  StateChange,
} from './resilient-room.types';
import { CONNECT_OPTIONS, roomOptions } from './room-options';
import { RoomStateMachine } from './room-state.machine';
import { SessionApiClient, SessionApiError } from './session-api.client';
import { TypedEmitter } from './typed-emitter';

export { MOVE_PEER_CONNECTION_TIMEOUT_MS, MOVE_WEBSOCKET_TIMEOUT_MS } from './room-options';
export { FIRST_FRAME_POLL_MS, FIRST_FRAME_WAIT_MS } from './first-frame.watcher';
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
 * the backend's `rejoin` push, whichever comes first, and moves every local track to the node the backend
 * names, with a fresh token, without waiting for the SDK's backoff against a dead URL.
 *
 * The pieces: RoomStateMachine (the state it reports), generation.policy (which placement wins), MoveLog
 * (each move's timings), LocalMedia (capture once, publish on every node), the rejoin socket, the
 * first-frame watcher and the participant views. This class wires them to the SDK's Room.
 */
export class ResilientRoom extends TypedEmitter<ResilientRoomEvents> {
  private readonly api: SessionApiClient;
  private readonly apiBase: string;
  private readonly media: LocalMedia;
  private readonly status = new RoomStateMachine();
  private readonly moveLog: MoveLog;
  private session?: JoinResponse;
  private socket?: RejoinSocket;
  private room?: Room;
  /** Rooms that reached `connected` at least once: only their losses start a recovery. */
  private readonly established = new WeakSet<Room>();
  private target?: Target;
  private published: { video?: LocalVideoTrack; audio?: LocalAudioTrack } = {};
  private recoveryId = 0;
  private activeRecovery = 0;
  private consecutiveConnectFailures = 0;
  /** Remote participants shown in the UI, kept across a move until they are back or gone. */
  private readonly remotes = new Map<string, { name: string }>();
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
    return { ...this.media.muted };
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
    const [session] = await Promise.all([
      this.requestJoin(sessionId, name),
      this.media.capture(this.options.audio ?? true),
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

  async setMuted(kind: 'video' | 'audio', muted: boolean): Promise<void> {
    this.media.muted[kind] = muted;
    const track = this.published[kind];
    if (track) await (muted ? track.mute() : track.unmute());
    else {
      const raw = this.media[kind];
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
        const move = this.moveLog.unfinished;
        if (move && track.kind === Track.Kind.Video) this.moveLog.mark(move, 'remoteVideo');
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
      if (move) this.moveLog.mark(move, 'signal');
      if (room !== this.room) return;
      publishing = this.publishLocalTracks(room, move);
      // Awaited below once connected; a failed connect makes it reject, which nobody needs to hear.
      publishing.catch(() => undefined);
    });
    if (move) this.moveLog.mark(move, 'connecting');
    await room.connect(target.url, target.token, CONNECT_OPTIONS);
    if (room !== this.room) return;
    if (move) this.moveLog.progress(move, 'connectedAt');
    for (const p of room.remoteParticipants.values()) this.remotes.set(p.identity, { name: p.name || p.identity });
    await (publishing ?? this.publishLocalTracks(room));
    if (room !== this.room) return;
    this.established.add(room);
    this.consecutiveConnectFailures = 0;
    if (move) this.moveLog.progress(move, 'publishedAt');
    this.setState('connected', move ? `back on ${target.url}` : `connected to ${target.url}`);
    this.emitParticipants();
    if (move) {
      void watchFirstFrames(room, move, {
        moves: this.moveLog,
        isCurrent: (r) => r === this.room,
        forget: (identities) => {
          for (const identity of identities) this.remotes.delete(identity);
          this.emitParticipants();
        },
      });
    }
  }

  private async publishLocalTracks(room: Room, move?: MoveTiming): Promise<void> {
    const published = await this.media.publish(room, (kind) => move && this.moveLog.mark(move, kind));
    if (room === this.room) this.published = published;
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
    const failedRoom = this.room;
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
          replacedSinceLoss: this.room !== failedRoom,
          connected: this.room?.state === ConnectionState.Connected,
        });
        if (action === 'ignore') return;
        if (action === 'resumed') return this.onResumed(this.room!);
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
    return this.moveLog.start(trigger, fromUrl, expected ?? [...this.remotes.keys()], detectedAt);
  }

  // ---- helpers ----------------------------------------------------------------------------------

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
        remotes: this.remotes,
        room: this.room,
      }),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
