// The HTTP API's request and answer bodies, shared by the backend, the client and the tests. Each has one
// class beside its feature (`*.dto.ts`) that implements it: the validation and the OpenAPI schema.

/** Room settings a join may ask for: honoured when this join creates the session, kept for every rebuild. */
export interface RoomSettingsRequest {
  metadata?: string;
  emptyTimeoutSec?: number;
  maxParticipants?: number;
  /** LiveKit agent names (explicit dispatch): each is dispatched to the room, and again wherever a rebuild moves it. */
  agents?: string[];
}

/** Body of POST /api/sessions/:sessionId/participants. */
export interface JoinRequest {
  name: string;
  metadata?: string;
  room?: RoomSettingsRequest;
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

export type NodeStatus = 'unknown' | 'up' | 'suspect' | 'down';

export type ParticipantState = 'invited' | 'joined' | 'leaving' | 'left';

/** A session's room settings as GET /api/sessions shows them (what every rebuild recreates). */
export interface SessionRoomSettings {
  metadata: string;
  emptyTimeoutSec: number;
  departureTimeoutSec: number;
  /** 0 = unlimited. */
  maxParticipants: number;
  /** The agents dispatched to the room by name; [] none. */
  agents: string[];
}

/** A participant as GET /api/sessions shows it. */
export interface ParticipantSummary {
  identity: string;
  name: string;
  state: ParticipantState;
}

/** One session of GET /api/sessions: the registry without key hashes. */
export interface SessionSummary {
  sessionId: string;
  nodeUrl: string;
  generation: number;
  waitingForNode: boolean;
  room: SessionRoomSettings;
  participants: ParticipantSummary[];
}

/** What another backend instance sharing the store sees of a node. */
export interface NodePeerSummary {
  /** host:pid */
  instance: string;
  status: NodeStatus;
  since: number;
  reason: string;
}

/** One node of GET /api/nodes: its state, since when (epoch ms), why, and its load. */
export interface NodeSummary {
  url: string;
  status: NodeStatus;
  since: number;
  sinceIso: string;
  reason: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastProbeAt?: number;
  lastLatencyMs?: number;
  /** Silence counted so far since the oldest unanswered probe (backend lag excluded). */
  silentMs: number;
  sessions: number;
  participants: number;
  peers: NodePeerSummary[];
  /** It answers its probes, but a session's participants lost their media path to it: no new sessions until `until`. */
  failingForClients?: { since: number; until: number; reason: string };
  /** LiveKit's own cluster only: the node's id in LiveKit's registry, and the address it is probed at. */
  livekit?: { id?: string; address: string; registered: boolean };
}

/** A media node as GET /api/info shows it (name, pid and process state only for the embedded cluster). */
export interface InfoNode {
  url: string;
  status: NodeStatus | undefined;
  name?: string;
  pid?: number;
  process?: string;
}

/**
 * The backend instance that answered GET /api/info: behind a load balancer, which one holds this client.
 * `crashable`: `npm run cluster` started it, and POST /api/dev/crash-instance SIGKILLs it.
 */
export interface InstanceInfo {
  pid: number;
  store: 'memory' | 'redis';
  crashable: boolean;
}

/** 200 body of GET /api/info. */
export interface AppInfo {
  devCluster: boolean;
  nodes: InfoNode[];
  instance: InstanceInfo;
}

/** 200 body of POST /api/dev/sessions/:sessionId/crash-node: the dev cluster node SIGKILLed. */
export interface CrashNodeResponse {
  killed: string;
  url: string;
}

/** 202 body of POST /api/dev/crash-instance: the pid about to SIGKILL itself. */
export interface CrashInstanceResponse {
  killed: number;
}

/** 200 body of GET /health. */
export interface HealthResponse {
  status: 'ok';
}

/** Body of GET /health/ready (@nestjs/terminus's answer): each check by name, up or down, with what it found. */
export interface ReadinessResponse {
  status: 'ok' | 'error' | 'shutting_down';
  info?: Record<string, unknown>;
  error?: Record<string, unknown>;
  details: Record<string, unknown>;
}

/** 200 body of POST /webhooks/livekit. */
export interface WebhookResponse {
  /** The LiveKit event name. */
  event: string;
  outcome: 'applied' | 'ignored' | 'duplicate';
}
