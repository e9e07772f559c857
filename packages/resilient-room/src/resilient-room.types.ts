import type {
  ConnectionQuality,
  Participant,
  RemoteParticipant,
  RemoteTrack,
  RemoteTrackPublication,
  Room,
  Track,
} from 'livekit-client';
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

/** A data message as the app receives it, whichever Room it came through. */
export interface ReceivedMessage {
  payload: Uint8Array;
  /** Set when the sender sent a string (send() with a string payload). */
  text?: string;
  topic?: string;
  /** The sender's identity (undefined for data the server sent). */
  from?: string;
  /** The sender in the current Room, when it is there. */
  participant?: RemoteParticipant;
  reliable: boolean;
  /** Held back by a move (sent during one, or sent again after it): shown as delayed, not lost. */
  delayed: boolean;
  /** The sender's clock when it sent (epoch ms); undefined for packets from peers without the library. */
  sentAt?: number;
}

export interface SendOptions {
  /** Passed to the receivers' dataReceived as `topic`. */
  topic?: string;
  /**
   * Default true: delivered exactly once and in order per sender, across moves (queued while moving,
   * resent until acknowledged). false: one try on the current node; dropped during a move.
   */
  reliable?: boolean;
  /** Only these identities (default: everyone in the session). */
  destinationIdentities?: string[];
}

/** A track the app published through the library; it is published again on every node. */
export interface AppTrack {
  readonly id: string;
  readonly mediaStreamTrack: MediaStreamTrack;
  readonly name?: string;
  readonly source: Track.Source;
}

export interface ResilientRoomEvents {
  state: (change: StateChange) => void;
  /** The livekit-client Room was replaced (a join or a move): components bound to a Room rebind here. */
  roomChanged: (room: Room, previous: Room | undefined) => void;
  /** Someone joined the session (never for a participant coming back from a move). */
  participantConnected: (participant: RemoteParticipant) => void;
  /** Someone left the session for good (never for a move). The object may be from an earlier Room. */
  participantDisconnected: (participant: RemoteParticipant) => void;
  /** A remote track subscribed on the current Room (after a move: the new node's track). */
  trackSubscribed: (track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  /** A remote track ended: unsubscribed on the current Room, or gone with the Room a move dropped. */
  trackUnsubscribed: (track: RemoteTrack, publication: RemoteTrackPublication, participant: RemoteParticipant) => void;
  activeSpeakersChanged: (speakers: Participant[]) => void;
  connectionQualityChanged: (quality: ConnectionQuality, participant: Participant) => void;
  dataReceived: (message: ReceivedMessage) => void;
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
  /** Capture from these devices (MediaDeviceInfo.deviceId); switchDevice() changes them later. */
  devices?: { videoinput?: string; audioinput?: string };
  data?: {
    /** Reliable messages kept until acknowledged; past it send() rejects with `queue-full` (default 1024). */
    maxQueuedMessages?: number;
  };
}
