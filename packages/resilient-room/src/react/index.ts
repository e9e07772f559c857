// `@session-rebuilder/resilient-room/react`: the bindings for @livekit/components-react apps.
export {
  ResilientRoomProvider,
  useResilientRoom,
  type ResilientRoomProviderProps,
  type ResilientRoomSnapshot,
} from './resilient-room-provider';
