// Which placement wins. The backend raises a session's generation at every rebuild; pushes and answers
// can arrive late or twice, so each is weighed against the generation the room already has.

/** A `rejoin` push moves the room only when it names a newer generation than the room's. */
export function isNewerPlacement(pushed: number, known: number | undefined): boolean {
  return pushed > (known ?? -1);
}

/** A `waiting-for-node` push older than the room's generation is about a node the room already left. */
export function isCurrentWaiting(pushed: number, known: number | undefined): boolean {
  return pushed >= (known ?? 0);
}

/**
 * What to do with the backend's answer to a rejoin the room asked for after losing its node:
 * - ignore: older than what the room has, or the same generation while another move already replaced the lost room;
 * - resumed: the same node and generation, and the room is connected again (the node only blipped);
 * - move: go to the node the answer names.
 */
export type RejoinAnswerAction = 'ignore' | 'resumed' | 'move';

export function rejoinAnswerAction(
  answer: { url: string; generation: number },
  room: { url?: string; generation?: number; replacedSinceLoss: boolean; connected: boolean },
): RejoinAnswerAction {
  const known = room.generation ?? -1;
  if (answer.generation < known || (answer.generation === known && room.replacedSinceLoss)) return 'ignore';
  if (answer.generation === known && answer.url === room.url && room.connected) return 'resumed';
  return 'move';
}
