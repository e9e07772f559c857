// The socket.io and HTTP contract shared by the backend and the bundled client (client/ imports this
// file for its types only, so it must stay free of runtime imports).

export const SESSION_NAMESPACE = '/session';

/** Why the server asks a participant to move. */
export type RejoinReason = 'node-down' | 'node-hung' | 'node-recovered' | 'client-report';

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
}

/** 201 body of POST /api/sessions/:sessionId/participants. */
export interface JoinResponse {
  sessionId: string;
  identity: string;
  name: string;
  url: string;
  token: string;
  rejoinKey: string;
  generation: number;
}

/** 200 body of POST /api/sessions/:sessionId/participants/:identity/rejoin. */
export interface RejoinResponse {
  url: string;
  token: string;
  generation: number;
}

/** Every error body the HTTP API sends. */
export interface ApiErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Record<string, string[]>;
}
