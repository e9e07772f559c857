import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json, text } from 'express';
import { DomainError } from './domain-error';

/** API bodies are small JSON documents; anything bigger is refused before it is parsed. */
export const API_BODY_LIMIT_BYTES = 16 * 1024;
/** Webhook events carry room and participant info; LiveKit keeps them well under this. */
export const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

/** A body-parser error as the domain error the one exception filter turns into HTTP. */
function asDomainError(error: unknown, limitBytes: number): DomainError {
  const err = error as { type?: string; message?: string };
  if (err.type === 'entity.too.large')
    return new DomainError('payload-too-large', `request body is larger than ${limitBytes} bytes`);
  if (err.type === 'entity.parse.failed') return new DomainError('validation-failed', 'request body is not valid JSON');
  return new DomainError('validation-failed', err.message ?? 'bad request body');
}

/** Runs a body-parser; its failure rejects, which Nest hands to the exception filter (next(err) would bypass it). */
function parse(parser: RequestHandler, limitBytes: number, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) =>
    parser(req, res, (error?: unknown) => (error ? reject(asDomainError(error, limitBytes)) : resolve())),
  );
}

const webhookParser = text({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES });
const apiParser = json({ limit: API_BODY_LIMIT_BYTES, strict: true });

/**
 * Every route but the webhooks takes JSON up to API_BODY_LIMIT_BYTES. Webhooks are read by their own
 * middleware (webhooks/webhook-auth.middleware.ts), once their Authorization is known to be LiveKit's.
 */
export function bodyParsers(): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  return async (req, res, next) => {
    // originalUrl: middleware mounted by Nest sees a path relative to its mount point.
    if (!req.originalUrl.startsWith('/webhooks/')) await parse(apiParser, API_BODY_LIMIT_BYTES, req, res);
    next();
  };
}

/** A webhook's raw body, as a string: LiveKit's signature covers the exact bytes sent. */
export function parseWebhookBody(req: Request, res: Response): Promise<void> {
  return parse(webhookParser, WEBHOOK_BODY_LIMIT_BYTES, req, res);
}
