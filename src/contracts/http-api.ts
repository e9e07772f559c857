// The HTTP API's request and answer bodies, shared by the backend, the client and the tests.

/** Body of POST /api/sessions/:sessionId/participants. */
export interface JoinRequest {
  name: string;
  metadata?: string;
  /** Honoured when this join creates the session; kept for every rebuild. */
  room?: { metadata?: string; emptyTimeoutSec?: number; maxParticipants?: number };
}

/** Body of POST /api/sessions/:sessionId/participants/:identity/rejoin. */
export interface RejoinRequest {
  rejoinKey: string;
  /** The node URL the client lost; the backend probes it at once. */
  failedUrl?: string;
}

/** Body of DELETE /api/sessions/:sessionId/participants/:identity. */
export interface LeaveRequest {
  rejoinKey: string;
}

/** Body and answer of POST /api/get-token, the original tutorial's call. */
export interface GetTokenRequest {
  sessionId: string;
}
export interface GetTokenResponse {
  token: string;
  url: string;
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

/** A media node as GET /api/info shows it (name, pid and process state only for the embedded cluster). */
export interface InfoNode {
  url: string;
  status: 'unknown' | 'up' | 'suspect' | 'down' | undefined;
  name?: string;
  pid?: number;
  process?: string;
}

/** 200 body of GET /api/info. */
export interface AppInfo {
  devCluster: boolean;
  nodes: InfoNode[];
  /**
   * The backend instance that answered: behind a load balancer, which one holds this client.
   * `crashable`: `npm run cluster` started it, and POST /api/dev/crash-instance SIGKILLs it.
   */
  instance: { pid: number; store: 'memory' | 'redis'; crashable: boolean };
}
