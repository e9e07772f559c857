// Typed domain errors: services throw these, one filter maps them to HTTP.

export type DomainErrorCode =
  | 'validation-failed'
  | 'payload-too-large'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'too-many-requests'
  | 'no-node-available'
  | 'node-unreachable'
  | 'bad-webhook'
  | 'not-dev-cluster'
  | 'store-unavailable';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: Record<string, string[]>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function httpStatusOf(code: DomainErrorCode): number {
  switch (code) {
    case 'validation-failed':
    case 'bad-webhook':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not-found':
    case 'not-dev-cluster':
      return 404;
    case 'conflict':
      return 409;
    case 'payload-too-large':
      return 413;
    case 'too-many-requests':
      return 429;
    case 'node-unreachable':
      return 502;
    case 'no-node-available':
    case 'store-unavailable':
      return 503;
    default: {
      const unreachable: never = code;
      throw new Error(`unknown domain error code ${String(unreachable)}`);
    }
  }
}
