import { Inject, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { NAME_PATTERN, NAME_RULE } from '../contracts';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { bearerToken, OperatorAccess } from '../common/operator-access';
import { RoomSettingsDto } from './dto/create-participant.dto';
import { matchesSessionPattern } from './session-pattern';

/** What one join may do: choose room settings, and under which name. */
export interface JoinGrant {
  /** The caller's room settings count (an operator). */
  operator: boolean;
  /** The display name the auth token fixes, over the body's. */
  name?: string;
  /** Room settings the auth token fixes, for a join that creates the session. */
  room?: RoomSettingsDto;
}

/**
 * The claims of a join token the developer's own app signs (HS256, with --auth-secret):
 * `sessions` the ids it admits (`*` matches any run of id characters: `team-*`), optional `name` (the
 * participant's display name) and `room` (settings for a session this join creates); `exp` required.
 */
interface JoinClaims {
  sessions: string | string[];
  name?: string;
  room?: Record<string, unknown>;
}

/** Leeway for the app's clock running ahead of ours, where a token's life is measured from now (it has no iat). */
const CLOCK_SKEW_SECONDS = 60;

const NEEDS_TOKEN =
  'this backend admits joins with a token from your app: Authorization: Bearer <JWT, HS256, signed with its auth secret>';

/**
 * Who may join. Default: anyone with the link, as in the original tutorial, with the operator's room
 * settings unless an operator asks otherwise (an anonymous first joiner cannot make a 24-hour room for
 * 1,000). With --auth-secret: a join token from the developer's app, checked before anything is created.
 */
@Injectable()
export class JoinAuthService {
  private readonly operators: OperatorAccess;
  private readonly key?: Uint8Array;
  private readonly maxAgeSeconds: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.operators = new OperatorAccess(config);
    this.maxAgeSeconds = config.authMaxAge;
    if (config.authSecret) this.key = new TextEncoder().encode(config.authSecret);
  }

  async authorize(authorization: string | undefined, sessionId: string): Promise<JoinGrant> {
    if (!this.key) return { operator: this.operators.isOperator(authorization) };
    if (this.operators.sentAdminToken(authorization)) return { operator: true };
    const token = bearerToken(authorization);
    if (!token) throw new DomainError('unauthorized', NEEDS_TOKEN);
    const claims = await this.verify(token);
    const patterns = Array.isArray(claims.sessions) ? claims.sessions : [claims.sessions];
    if (!patterns.some((pattern) => matchesSessionPattern(pattern, sessionId))) {
      throw new DomainError('forbidden', `the join token does not cover session ${sessionId}`);
    }
    return {
      operator: false,
      ...(claims.name !== undefined && { name: claims.name }),
      ...(claims.room && { room: this.roomOf(claims.room) }),
    };
  }

  private async verify(token: string): Promise<JoinClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key!, { algorithms: ['HS256'], requiredClaims: ['exp'] }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new DomainError('unauthorized', 'the join token has expired');
      const why = error instanceof joseErrors.JOSEError ? error.code : 'malformed';
      throw new DomainError('unauthorized', `the join token is not valid (${why})`);
    }
    this.checkLifetime(payload);
    const problems: string[] = [];
    const sessions = payload.sessions;
    const isPattern = (value: unknown) => typeof value === 'string' && /^[A-Za-z0-9_*-]{1,128}$/.test(value);
    if (!(isPattern(sessions) || (Array.isArray(sessions) && sessions.length > 0 && sessions.every(isPattern)))) {
      problems.push('sessions must be a session id or pattern (A-Z, a-z, 0-9, _, -, *), or a list of them');
    }
    if (payload.name !== undefined && !(typeof payload.name === 'string' && NAME_PATTERN.test(payload.name)))
      problems.push(`name: ${NAME_RULE}`);
    if (
      payload.room !== undefined &&
      (typeof payload.room !== 'object' || payload.room === null || Array.isArray(payload.room))
    )
      problems.push('room must be an object');
    if (problems.length > 0)
      throw new DomainError('unauthorized', `the join token's claims are not valid: ${problems.join('; ')}`);
    return payload as unknown as JoinClaims;
  }

  /**
   * A token is a key to sessions for as long as it lives: one signed for years cannot be taken back. Its
   * exp counts from its iat, and from now as well (an iat set ahead would hide the life otherwise).
   */
  private checkLifetime(payload: JWTPayload): void {
    if (this.maxAgeSeconds === 0) return;
    const exp = payload.exp!;
    const afterIat = payload.iat !== undefined ? exp - payload.iat : undefined;
    const fromNow = exp - Math.floor(Date.now() / 1000);
    const why =
      afterIat !== undefined && afterIat > this.maxAgeSeconds
        ? `its exp is ${afterIat} s after its iat`
        : fromNow > this.maxAgeSeconds + CLOCK_SKEW_SECONDS
          ? `its exp is ${fromNow} s from now`
          : undefined;
    if (why)
      throw new DomainError(
        'unauthorized',
        `the join token lives too long: ${why}; this backend accepts at most ${this.maxAgeSeconds} s (--auth-max-age)`,
      );
  }

  private roomOf(raw: Record<string, unknown>): RoomSettingsDto {
    const room = plainToInstance(RoomSettingsDto, raw);
    const errors = validateSync(room, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      const detail = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`).join('; ');
      throw new DomainError('unauthorized', `the join token's room settings are not valid: ${detail}`);
    }
    return room;
  }
}
