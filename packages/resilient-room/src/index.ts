// The package's main entry point (`@session-rebuilder/resilient-room`); the React bindings are in ./react.
export { ResilientRoom } from './resilient-room';
export { ResilientRoomError, type ResilientRoomErrorCode } from './errors';
export type {
  AppTrack,
  LogEntry,
  MoveTiming,
  MoveTrigger,
  ParticipantView,
  ReceivedMessage,
  ResilientRoomEvents,
  ResilientRoomOptions,
  ResilientRoomState,
  SendOptions,
  StateChange,
} from './resilient-room.types';
export { SessionApiClient, SessionApiError, type SessionApiErrorCode, type SessionInfo } from './session-api.client';
export { remoteFramesDecoded, remoteVideoStats, type RemoteVideoStats } from './frame-stats';
export { MAX_DATA_PACKET_BYTES } from './data/envelope';
export { DEFAULT_MAX_QUEUED_MESSAGES } from './data/reliable-sender';
export { DEFAULT_SCREEN_SHARE, DEFAULT_VIDEO, type VideoSettings } from './local-media';
export { DEPARTURE_GRACE_MS, RETURN_WAIT_MS } from './membership';
