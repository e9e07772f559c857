import { RoomContext } from '@livekit/components-react';
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Room } from 'livekit-client';
import { ResilientRoom } from '../resilient-room';
import type { MoveTiming, ResilientRoomOptions, ResilientRoomState, StateChange } from '../resilient-room.types';

/** What useResilientRoom() answers; a new object whenever the state, the Room or a move changes. */
export interface ResilientRoomSnapshot {
  /** The ResilientRoom itself: send(), setMuted(), setScreenShareEnabled(), publishTrack(), leave()... */
  resilientRoom: ResilientRoom;
  /** The current livekit-client Room (the one components-react's RoomContext holds); undefined before the join. */
  room: Room | undefined;
  state: ResilientRoomState;
  stateChange: StateChange;
  /** Every move so far, with its timings; the last one may still be under way. */
  moves: readonly MoveTiming[];
  lastMove: MoveTiming | undefined;
}

export interface ResilientRoomProviderProps {
  /** The session to join: the provider creates the ResilientRoom, joins, and leaves when unmounted. */
  session?: string;
  /** The name to join with (with `session`). */
  name?: string;
  /** Options for the ResilientRoom the provider creates (with `session`). */
  options?: ResilientRoomOptions;
  /** Or a ResilientRoom of your own (you join and leave it). */
  room?: ResilientRoom;
  /** Shown until the first livekit-client Room exists (components-react needs one). */
  fallback?: ReactNode;
  /** The join failed for good (the backend refused it). */
  onError?: (error: unknown) => void;
  children?: ReactNode;
}

const ResilientRoomContext = createContext<ResilientRoomSnapshot | undefined>(undefined);

/**
 * Hands @livekit/components-react the current livekit-client Room (its RoomContext), so
 * <VideoConference>, <GridLayout>, useTracks() and the rest follow the session from node to node: at a
 * move the context switches to the new Room and the components subscribe to it.
 */
export function ResilientRoomProvider(props: ResilientRoomProviderProps): ReactNode {
  const { session, name, room: given, fallback = null, children } = props;
  if (!given && !session)
    throw new Error(
      'ResilientRoomProvider: missing prop `session` (the session id to join), or `room` (a ResilientRoom you created)',
    );
  if (!given && !name)
    throw new Error(`ResilientRoomProvider: missing prop \`name\` (the participant's name to join "${session}" with)`);
  const owned = useOwnedRoom(given ? undefined : { session: session!, name: name!, props });
  const resilientRoom = given ?? owned;
  const snapshot = useSnapshot(resilientRoom);
  const room = snapshot?.room;
  return (
    <ResilientRoomContext.Provider value={snapshot}>
      {room ? <RoomContext.Provider value={room}>{children}</RoomContext.Provider> : fallback}
    </ResilientRoomContext.Provider>
  );
}

/** The session's state and move timings, and the ResilientRoom; inside <ResilientRoomProvider> only. */
export function useResilientRoom(): ResilientRoomSnapshot {
  const snapshot = useContext(ResilientRoomContext);
  if (!snapshot)
    throw new Error(
      'useResilientRoom() must be called inside <ResilientRoomProvider> (after its ResilientRoom exists)',
    );
  return snapshot;
}

/** A ResilientRoom created in an effect (so React's double effects in development make two, not a reused left one). */
function useOwnedRoom(
  join: { session: string; name: string; props: ResilientRoomProviderProps } | undefined,
): ResilientRoom | undefined {
  const [room, setRoom] = useState<ResilientRoom>();
  const session = join?.session;
  const name = join?.name;
  // The latest props without restarting the session when an inline options object or callback changes.
  const latest = join?.props;
  useEffect(() => {
    if (session === undefined || name === undefined) return;
    const created = new ResilientRoom(latest?.options);
    setRoom(created);
    created.join(session, name).catch((err: unknown) => latest?.onError?.(err));
    return () => {
      void created.leave();
      setRoom((current) => (current === created ? undefined : current));
    };
    // One session per (session, name): `latest` is read at creation, not a reason to join again.
  }, [session, name]);
  return room;
}

function useSnapshot(room: ResilientRoom | undefined): ResilientRoomSnapshot | undefined {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!room) return;
    const bump = () => setVersion((v) => v + 1);
    const off = [
      room.on('state', bump),
      room.on('roomChanged', bump),
      room.on('move-progress', bump),
      room.on('move', bump),
    ];
    bump();
    return () => off.forEach((unsubscribe) => unsubscribe());
  }, [room]);
  return useMemo(() => {
    if (!room) return undefined;
    const moves = [...room.moves];
    return {
      resilientRoom: room,
      room: room.room,
      state: room.state,
      stateChange: room.stateChange,
      moves,
      lastMove: moves[moves.length - 1],
    };
    // `version` changes whenever the ResilientRoom did: a new snapshot for React to compare.
  }, [room, version]);
}
