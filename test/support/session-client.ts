// HTTP and socket.io calls a participant makes, for e2e tests and the bench.
import { io, Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  JoinResponse,
  RejoinPayload,
  ServerToClientEvents,
  WaitingForNodePayload,
} from '../../src/contracts';

export type SessionSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The --admin-token every backend the tests start is given (test/support/app.ts, in-process-app.ts). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-not-a-secret';

/** Headers of an operator's request: the admin bearer token. */
export const OPERATOR_HEADERS = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } as const;

export async function api<T = unknown>(
  appUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${appUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** GET of an operators' endpoint (/api/sessions, /api/nodes, /api/info, /metrics as JSON or text) with the admin token. */
export async function operatorApi<T = unknown>(appUrl: string, path: string): Promise<{ status: number; body: T }> {
  return api<T>(appUrl, 'GET', path, undefined, OPERATOR_HEADERS);
}

/** The text of GET /metrics, as an operator's scraper reads it. */
export async function scrapeMetrics(appUrl: string): Promise<string> {
  const res = await fetch(`${appUrl}/metrics`, { headers: OPERATOR_HEADERS, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}

export async function join(
  appUrl: string,
  sessionId: string,
  name: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<JoinResponse> {
  const res = await api<JoinResponse>(
    appUrl,
    'POST',
    `/api/sessions/${sessionId}/participants`,
    { name, ...extra },
    headers,
  );
  if (res.status !== 201) throw new Error(`join ${sessionId} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface ConnectedParticipant {
  socket: SessionSocket;
  rejoins: RejoinPayload[];
  waiting: WaitingForNodePayload[];
  /** Resolves with the first rejoin of at least `generation`, with the time it arrived (performance.now()). */
  nextRejoin(generation: number, timeoutMs: number): Promise<RejoinPayload & { at: number }>;
  nextWaiting(timeoutMs: number): Promise<WaitingForNodePayload>;
  close(): void;
}

/** `clientGeneration`: the generation the client says it runs on at the handshake (catch-up). */
export function connect(
  appUrl: string,
  joined: Pick<JoinResponse, 'sessionId' | 'identity' | 'rejoinKey'>,
  timeoutMs = 5000,
  clientGeneration?: number,
): Promise<ConnectedParticipant> {
  const socket: SessionSocket = io(`${appUrl}/session`, {
    auth: {
      sessionId: joined.sessionId,
      identity: joined.identity,
      rejoinKey: joined.rejoinKey,
      generation: clientGeneration,
    },
    transports: ['websocket'],
    reconnection: false,
    timeout: timeoutMs,
  });
  const rejoins: Array<RejoinPayload & { at: number }> = [];
  const waiting: WaitingForNodePayload[] = [];
  const listeners = new Set<() => void>();
  socket.on('rejoin', (payload) => {
    rejoins.push({ ...payload, at: performance.now() });
    for (const l of listeners) l();
  });
  socket.on('waiting-for-node', (payload) => {
    waiting.push(payload);
    for (const l of listeners) l();
  });
  const waitUntil = <T>(pick: () => T | undefined, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(
          new Error(
            `no ${what} within ${ms} ms (rejoins: ${JSON.stringify(rejoins.map((r) => [r.generation, r.reason]))})`,
          ),
        );
      }, ms);
      const check = () => {
        const value = pick();
        if (value === undefined) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(value);
      };
      listeners.add(check);
      check();
    });
  const participant: ConnectedParticipant = {
    socket,
    rejoins,
    waiting,
    nextRejoin: (generation, ms) =>
      waitUntil(() => rejoins.find((r) => r.generation >= generation), ms, `rejoin with generation >= ${generation}`),
    nextWaiting: (ms) => waitUntil(() => waiting[0], ms, 'waiting-for-node'),
    close: () => socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(participant));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}
