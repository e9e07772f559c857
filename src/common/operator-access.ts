import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/app-config';

/** The token in `Authorization: Bearer <token>`, if that is what the header holds. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const [scheme, token, extra] = (authorization ?? '').split(' ');
  return scheme?.toLowerCase() === 'bearer' && token && extra === undefined ? token : undefined;
}

/**
 * Who counts as an operator: with --admin-token, whoever sends it as a bearer token; without one, every
 * caller in dev mode (the embedded cluster on loopback, or --dev) and nobody elsewhere.
 */
export class OperatorAccess {
  private readonly expected?: Buffer;

  constructor(private readonly config: Pick<AppConfig, 'adminToken' | 'devMode'>) {
    if (config.adminToken) this.expected = digest(config.adminToken);
  }

  /** Whether operators' endpoints exist at all for callers without the token. */
  get tokenConfigured(): boolean {
    return this.expected !== undefined;
  }

  /** The admin token itself was sent. */
  sentAdminToken(authorization: string | undefined): boolean {
    const token = bearerToken(authorization);
    return !!this.expected && !!token && timingSafeEqual(digest(token), this.expected);
  }

  isOperator(authorization: string | undefined): boolean {
    return this.expected ? this.sentAdminToken(authorization) : this.config.devMode;
  }
}

/** Same length whatever was sent, so the comparison takes the same time. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
