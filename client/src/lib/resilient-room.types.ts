import type { RemoteTrack, Track } from 'livekit-client';
import type { RejoinReason } from '@contracts';

/** Where a ResilientRoom stands. `left` and `failed` are final. */
export type ResilientRoomState = 'joining' | 'connected' | 'rebuilding' | 'waiting-for-node' | 'failed' | 'left';

export interface StateChange {
  state: ResilientRoomState;
  /** Human-readable reason, shown by the sample app's overlay. */
  reason: string;
  /** Epoch ms when this state began. */
  since: number;
  /** Next retry (epoch ms) while rebuilding or waiting for a node. */
  retryAt?: number;
}

/** What made the room move. */
export type MoveTrigger = 'signal-lost' | 'media-lost' | 'disconnected' | 'connect-failed' | `server:${RejoinReason}`;

/**
 * One move to a (usually) new node. Every instant is epoch ms (performance.timeOrigin based), so a
 * test process on the same machine can subtract its own Date.now() taken at the kill.
 */
export interface MoveTiming {
  /** 1, 2, ... in the order moves began. */
  seq: number;
  trigger: MoveTrigger;
  fromUrl: string;
  toUrl?: string;
  generation?: number;
  /** The loss was noticed (by this client, or by the server's push arriving first). */
  detectedAt: number;
  /** A new url + token was in hand. */
  tokenAt?: number;
  /** Room.connect() resolved on the new node. */
  connectedAt?: number;
  /** The local camera and microphone were published again. */
  publishedAt?: number;
  /** The first remote video frame decoded after the move. */
  firstFrameAt?: number;
  /** Every remote that was present before the move decoded a frame again. */
  allFramesAt?: number;
  /**
   * Diagnostic instants inside the steps, first occurrence each: `connecting` (connect() called),
   * `signal` (join answer on the new node),
   * `remoteVideo` (first remote video track subscribed), `video`/`audio` (local track published).
   */
  marks?: Record<string, number>;
  /** Identities present before the move (the ones `allFramesAt` waits for). */
  expectedRemotes: string[];
  /** Set when the move ended; `superseded` means a later move took over. */
  outcome?: 'done' | 'resumed' | 'superseded' | 'connect-failed' | 'no-frames';
}

/** One participant as the UI should show it, stable across moves (keyed by identity). */
export interface ParticipantView {
  identity: string;
  name: string;
  isLocal: boolean;
  /** Undefined while the participant has not (re)published on the current node. */
  videoTrack?: Track;
  audioTrack?: RemoteTrack;
  videoMuted: boolean;
  audioMuted: boolean;
  /** Known from before a move and not back yet. */
  reconnecting: boolean;
}

export interface LogEntry {
  at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface ResilientRoomEvents {
  state: (change: StateChange) => void;
  /** A move made progress (one of its instants was set). */
  'move-progress': (timing: MoveTiming) => void;
  /** A move ended (frames back, superseded, or gave up waiting for frames). */
  move: (timing: MoveTiming) => void;
  participants: (participants: ParticipantView[]) => void;
  log: (entry: LogEntry) => void;
}

export interface ResilientRoomOptions {
  /** Origin of the backend (HTTP and socket.io); '' = the page's own origin. */
  apiBase?: string;
  /** Capture size of the camera; lower it on weak machines. */
  video?: { width: number; height: number; frameRate: number; maxBitrate: number };
  /** Capture the microphone too (default true). */
  audio?: boolean;
  /** Optional metadata carried into the participant's token. */
  metadata?: string;
  /** For a backend started with --auth-secret: the join token (JWT) your own app signed for this user. */
  joinToken?: string;
}
