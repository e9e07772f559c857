// The public surface of the client library; the sample app (../app) is one user of it.
export { ResilientRoom } from './resilient-room';
export type {
  LogEntry,
  MoveTiming,
  MoveTrigger,
  ParticipantView,
  ResilientRoomEvents,
  ResilientRoomOptions,
  ResilientRoomState,
  StateChange,
} from './resilient-room.types';
export { SessionApiClient, SessionApiError, type SessionInfo } from './session-api.client';
export { remoteFramesDecoded, remoteVideoStats, type RemoteVideoStats } from './frame-stats';
