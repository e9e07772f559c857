// The socket.io contract of the `/session` namespace, shared by the backend, the client and the tests.

export const SESSION_NAMESPACE = '/session';

/**
 * Why the server asks a participant to move. `catch-up`: the socket (re)connected behind the session's
 * current generation (its backend instance died, or it was away while the session moved).
 */
/** media-path: the node answers its probes, but the session's participants lost their media path to it. */
export type RejoinReason =
  | 'node-down'
  | 'node-hung'
  | 'node-recovered'
  | 'client-report'
  | 'media-path'
  | 'catch-up'
  /** A new session's node answered its CreateRoom with an error after the first joins were answered. */
  | 'room-refused';

export interface RejoinPayload {
  url: string;
  token: string;
  generation: number;
  reason: RejoinReason;
}

export interface MediaLostPayload {
  url: string;
}

/** Sent when a session's node is gone and no healthy node can take it yet. */
export interface WaitingForNodePayload {
  generation: number;
  reason: string;
}

export interface ServerToClientEvents {
  rejoin: (payload: RejoinPayload) => void;
  'waiting-for-node': (payload: WaitingForNodePayload) => void;
}

export interface ClientToServerEvents {
  'media-lost': (payload: MediaLostPayload) => void;
}

/** socket.io handshake `auth` for the `/session` namespace. */
export interface SessionHandshakeAuth {
  sessionId: string;
  identity: string;
  rejoinKey: string;
  /** The generation the client runs on; a socket behind the session's is sent the move it missed. */
  generation?: number;
}
