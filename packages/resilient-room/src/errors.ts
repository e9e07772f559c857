/** What went wrong, for an app to branch on without parsing messages. */
export type ResilientRoomErrorCode =
  /** The ResilientRoom has left (leave(), or the app disconnected its Room): it sends and publishes nothing more. */
  | 'left'
  /** join() was not called yet. */
  | 'not-joined'
  /** A data payload (with the library's header and its topic) over LiveKit's per-packet limit. */
  | 'payload-too-large'
  /** The reliable send queue is at its bound: the message was not queued. */
  | 'queue-full'
  /** A call whose arguments cannot work (say, a stopped track). */
  | 'bad-input';

export class ResilientRoomError extends Error {
  constructor(
    readonly code: ResilientRoomErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ResilientRoomError';
  }
}
