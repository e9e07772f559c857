import { DomainError } from '../../common/domain-error';

/** Redis could not be reached or answered an error: 503 with this message, and the client retries. */
export class StoreUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super(
      'store-unavailable',
      `the session store (Redis) is unavailable, try again shortly: ${(cause as Error)?.message ?? String(cause)}`,
    );
    this.name = 'StoreUnavailableError';
  }
}

/** A write from a holder whose lease on the session ran out: another instance may be writing it now. */
export class LeaseLostError extends DomainError {
  constructor(sessionId: string) {
    super(
      'store-unavailable',
      `the lease on session ${sessionId} ran out before the write, which was refused; try again`,
    );
    this.name = 'LeaseLostError';
  }
}
