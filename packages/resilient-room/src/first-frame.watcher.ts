import { Track, type Room } from 'livekit-client';
import { remoteFramesDecoded } from './frame-stats';
import type { MoveLog } from './move.log';
import type { MoveTiming } from './resilient-room.types';

/** How often a move looks for the first decoded remote frame (getStats), and for how long. */
export const FIRST_FRAME_POLL_MS = 40;
export const FIRST_FRAME_WAIT_MS = 15_000;

export interface FirstFrameContext {
  moves: MoveLog;
  /** False once the room was replaced by a newer move. */
  isCurrent: (room: Room) => boolean;
}

/**
 * Watches a moved room until every participant expected back is decoded again (the move's firstFrameAt
 * and allFramesAt), or until FIRST_FRAME_WAIT_MS. A frame shown in a <video> the track is attached to
 * (the app's tile) is seen at once through requestVideoFrameCallback; getStats' framesDecoded, polled,
 * covers tracks nobody shows.
 */
export async function watchFirstFrames(room: Room, move: MoveTiming, context: FirstFrameContext): Promise<void> {
  const deadline = performance.now() + FIRST_FRAME_WAIT_MS;
  const shown = new Set<string>();
  const hooked = new WeakSet<HTMLVideoElement>();
  const check = () => checkFirstFrames(room, move, shown, context);
  while (move.outcome === undefined) {
    if (!context.isCurrent(room)) return context.moves.finish(move, 'superseded');
    hookFrameCallbacks(room, shown, hooked, check);
    const frames = await remoteFramesDecoded(room);
    for (const [identity, count] of Object.entries(frames)) if (count > 0) shown.add(identity);
    if (check()) return;
    // Whoever is still missing has left meanwhile (Membership says so at RETURN_WAIT_MS, the same wait).
    if (performance.now() > deadline)
      return context.moves.finish(move, move.firstFrameAt === undefined ? 'no-frames' : 'done');
    await new Promise((resolve) => setTimeout(resolve, FIRST_FRAME_POLL_MS));
  }
}

/** Records the first-frame instants from `decoded`; true once the move is over. */
function checkFirstFrames(
  room: Room,
  move: MoveTiming,
  decoded: Set<string>,
  { moves, isCurrent }: FirstFrameContext,
): boolean {
  if (move.outcome !== undefined || !isCurrent(room)) return true;
  if (decoded.size > 0 && move.firstFrameAt === undefined) moves.progress(move, 'firstFrameAt');
  if (!move.expectedRemotes.every((identity) => decoded.has(identity))) return false;
  if (move.expectedRemotes.length > 0) moves.progress(move, 'allFramesAt');
  moves.finish(move, 'done');
  return true;
}

function hookFrameCallbacks(
  room: Room,
  shown: Set<string>,
  hooked: WeakSet<HTMLVideoElement>,
  onFrame: () => void,
): void {
  for (const participant of room.remoteParticipants.values()) {
    const track = participant.getTrackPublication(Track.Source.Camera)?.track;
    for (const element of track?.attachedElements ?? []) {
      if (!(element instanceof HTMLVideoElement) || hooked.has(element) || !('requestVideoFrameCallback' in element))
        continue;
      hooked.add(element);
      element.requestVideoFrameCallback(() => {
        if (
          element.srcObject instanceof MediaStream &&
          element.srcObject.getVideoTracks()[0] !== track?.mediaStreamTrack
        )
          return;
        shown.add(participant.identity);
        onFrame();
      });
    }
  }
}
