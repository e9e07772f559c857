import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ApiBody, ApiConsumes, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { WebhookResponse } from '../contracts';
import { ApiErrors, ApiWebhookSignature } from '../openapi/openapi.decorators';
import { WebhookResponseDto } from './dto/webhook-response.dto';
import { WebhooksService } from './webhooks.service';

/** The raw body (a string: see body-parsers.ts) is what LiveKit signed; it must not be re-serialized. */
@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post('livekit')
  @HttpCode(200)
  @ApiConsumes('application/webhook+json')
  @ApiWebhookSignature()
  @ApiBody({
    description: "LiveKit's webhook event (protojson), signed: Authorization holds a JWT with the body's sha256",
    schema: { type: 'string' },
  })
  @ApiResponse({ status: 200, type: WebhookResponseDto, description: 'taken (applied, ignored, or a duplicate id)' })
  @ApiErrors([400, 413, 503], {
    400: 'the signed body is not a LiveKit event',
    503: 'the session store (Redis) is unreachable',
  })
  receive(@Req() req: Request, @Headers('authorization') authorization?: string): Promise<WebhookResponse> {
    return this.webhooks.receive(req.body, authorization);
  }
}
