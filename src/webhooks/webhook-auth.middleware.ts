import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { parseWebhookBody } from '../common/body-parsers';
import { WebhooksService } from './webhooks.service';

/**
 * A webhook's Authorization is checked before its body (up to 1 MiB) is read: a request that does not
 * carry LiveKit's signature is refused at once, and its connection closed rather than drained.
 */
@Injectable()
export class WebhookAuthMiddleware implements NestMiddleware {
  constructor(private readonly webhooks: WebhooksService) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      await this.webhooks.checkAuthorization(req.headers.authorization);
    } catch (error) {
      res.setHeader('Connection', 'close');
      throw error;
    }
    await parseWebhookBody(req, res);
    next();
  }
}
