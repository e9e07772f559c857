import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { json, text } from 'express';
import { sendApiError } from './api-error';

/** API bodies are small JSON documents; anything bigger is refused before it is parsed. */
export const API_BODY_LIMIT_BYTES = 16 * 1024;
/** Webhook events carry room and participant info; LiveKit keeps them well under this. */
export const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

/** Wraps a body-parser so its errors (413, bad JSON) answer in the API's error format. */
function withApiErrors(parser: RequestHandler, limitBytes: number): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) =>
    parser(req, res, (error?: unknown) => {
      if (!error) return next();
      const err = error as { status?: number; type?: string; message?: string };
      if (err.type === 'entity.too.large') return sendApiError(res, 413, `request body is larger than ${limitBytes} bytes`);
      if (err.type === 'entity.parse.failed') return sendApiError(res, 400, 'request body is not valid JSON');
      return sendApiError(res, err.status && err.status >= 400 && err.status < 500 ? err.status : 400, err.message ?? 'bad request body');
    });
}

/** The webhook keeps its raw body as a string: LiveKit's signature covers the exact bytes sent. */
export function webhookBodyParser(): RequestHandler {
  return withApiErrors(text({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES }), WEBHOOK_BODY_LIMIT_BYTES);
}

export function apiBodyParser(): RequestHandler {
  return withApiErrors(json({ limit: API_BODY_LIMIT_BYTES, strict: true }), API_BODY_LIMIT_BYTES);
}
