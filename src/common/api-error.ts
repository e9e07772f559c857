import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';
import type { ApiErrorBody } from '../contracts';

export function apiErrorBody(statusCode: number, message: string, details?: Record<string, string[]>): ApiErrorBody {
  const body: ApiErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
  if (details && Object.keys(details).length > 0) body.details = details;
  return body;
}

export function sendApiError(
  res: Response,
  statusCode: number,
  message: string,
  details?: Record<string, string[]>,
): void {
  res.status(statusCode).json(apiErrorBody(statusCode, message, details));
}
