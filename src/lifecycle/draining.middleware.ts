import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { sendApiError } from '../common/api-error';
import { DrainService } from './drain.service';

export const DRAINING_MESSAGE =
  'this backend instance is shutting down; try again (behind a load balancer another instance answers)';

/** While draining, every API call and /health answer 503 (a load balancer stops sending); webhooks are still taken. */
@Injectable()
export class DrainingMiddleware implements NestMiddleware {
  constructor(private readonly drain: DrainService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    if (!this.drain.draining) return next();
    res.setHeader('Retry-After', '1');
    res.setHeader('Connection', 'close');
    sendApiError(res, 503, DRAINING_MESSAGE);
  }
}
