import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { WebhookAck, WebhooksService } from './webhooks.service';

/** The raw body (a string: see body-parsers.ts) is what LiveKit signed; it must not be re-serialized. */
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post('livekit')
  @HttpCode(200)
  receive(@Req() req: Request, @Headers('authorization') authorization?: string): Promise<WebhookAck> {
    return this.webhooks.receive(req.body, authorization);
  }
}
