import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ApiBody, ApiConsumes, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiOptionalAuthorization, WebhookAckDto } from '../docs/api-docs';
import { WebhookAck, WebhooksService } from './webhooks.service';

/** The raw body (a string: see body-parsers.ts) is what LiveKit signed; it must not be re-serialized. */
@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post('livekit')
  @HttpCode(200)
  @ApiConsumes('application/webhook+json')
  @ApiOptionalAuthorization("LiveKit's signature: a JWT with the body's sha256 (401 without it)")
  @ApiBody({ description: "LiveKit's webhook event (protojson), signed: Authorization holds a JWT with the body's sha256", schema: { type: 'string' } })
  @ApiResponse({ status: 200, type: WebhookAckDto, description: 'taken (applied, ignored, or a duplicate id)' })
  @ApiErrors(400, 401, 413)
  receive(@Req() req: Request, @Headers('authorization') authorization?: string): Promise<WebhookAck> {
    return this.webhooks.receive(req.body, authorization);
  }
}
