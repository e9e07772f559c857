import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, httpStatusOf } from './domain-error';
import { sendApiError } from './api-error';

/** The one place where errors become HTTP: always `{statusCode, error, message}`, never a stack. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof DomainError) {
      sendApiError(res, httpStatusOf(exception.code), exception.message, exception.details);
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : exception.message;
      sendApiError(res, status, message);
      return;
    }
    this.logger.error(`unhandled error: ${exception instanceof Error ? exception.stack : String(exception)}`);
    sendApiError(res, 500, 'internal error');
  }
}
