import type { ApiErrorBody, AppInfo, JoinResponse, RejoinResponse } from '@contracts';

/** Rejoin and join calls must not hang on a backend that accepts and never answers (fetch has no timeout). */
export const API_TIMEOUT_MS = 4_000;

export type SessionApiErrorCode =
  /** Network error, timeout, or a 5xx other than 503: keep the media and retry. */
  | 'backend-unreachable'
  /** 503: no healthy media node right now. */
  | 'no-node'
  /** 401/403/404/4xx: retrying will not help (wrong key, session or participant gone, bad input). */
  | 'rejected';

export class SessionApiError extends Error {
  constructor(
    readonly code: SessionApiErrorCode,
    message: string,
    readonly status?: number,
    readonly body?: ApiErrorBody,
  ) {
    super(message);
    this.name = 'SessionApiError';
  }
}

/** GET /api/info, as the contract fixes it. */
export type SessionInfo = AppInfo;

/** The backend's HTTP API, as ../shared/DESIGN.md fixes it. */
export class SessionApiClient {
  /** `joinToken`: the JWT your app signed for a backend started with --auth-secret, sent with the join. */
  constructor(
    private readonly base: string,
    private readonly joinToken?: string,
  ) {}

  join(sessionId: string, name: string, metadata?: string): Promise<JoinResponse> {
    const auth = this.joinToken ? { authorization: `Bearer ${this.joinToken}` } : undefined;
    return this.request<JoinResponse>(
      'POST',
      this.participants(sessionId),
      metadata ? { name, metadata } : { name },
      auth,
    );
  }

  rejoin(sessionId: string, identity: string, rejoinKey: string, failedUrl?: string): Promise<RejoinResponse> {
    return this.request<RejoinResponse>(
      'POST',
      `${this.participants(sessionId)}/${encodeURIComponent(identity)}/rejoin`,
      failedUrl ? { rejoinKey, failedUrl } : { rejoinKey },
    );
  }

  leave(sessionId: string, identity: string, rejoinKey: string): Promise<unknown> {
    return this.request('DELETE', `${this.participants(sessionId)}/${encodeURIComponent(identity)}`, { rejoinKey });
  }

  /** For `pagehide`: the page is going away, so the request must outlive it. */
  leaveOnUnload(sessionId: string, identity: string, rejoinKey: string): void {
    void fetch(`${this.base}${this.participants(sessionId)}/${encodeURIComponent(identity)}`, {
      method: 'DELETE',
      keepalive: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rejoinKey }),
    }).catch(() => undefined);
  }

  info(): Promise<SessionInfo> {
    return this.request<SessionInfo>('GET', '/api/info');
  }

  crashNode(sessionId: string): Promise<unknown> {
    return this.request('POST', `/api/dev/sessions/${encodeURIComponent(sessionId)}/crash-node`);
  }

  crashInstance(): Promise<unknown> {
    return this.request('POST', '/api/dev/crash-instance');
  }

  private participants(sessionId: string): string {
    return `/api/sessions/${encodeURIComponent(sessionId)}/participants`;
  }

  private async request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(API_TIMEOUT_MS),
      });
    } catch (err) {
      throw new SessionApiError('backend-unreachable', `backend unreachable (${describe(err)})`);
    }
    const text = await response.text().catch(() => '');
    const parsed = parseJson(text);
    if (response.ok) return parsed as T;
    const error = isApiError(parsed) ? parsed : undefined;
    const message = error ? error.message : `HTTP ${response.status}`;
    if (response.status === 503) throw new SessionApiError('no-node', message, 503, error);
    if (response.status >= 500) throw new SessionApiError('backend-unreachable', message, response.status, error);
    throw new SessionApiError('rejected', message, response.status, error);
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function isApiError(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as ApiErrorBody).message === 'string';
}

function describe(err: unknown): string {
  if (err instanceof DOMException && err.name === 'TimeoutError') return `no answer within ${API_TIMEOUT_MS} ms`;
  return err instanceof Error ? err.message : String(err);
}
