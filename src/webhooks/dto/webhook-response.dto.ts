import { ApiProperty } from '@nestjs/swagger';
import type { WebhookResponse } from '../../contracts';

export class WebhookResponseDto implements WebhookResponse {
  @ApiProperty({ description: 'the LiveKit event name' }) event!: string;
  @ApiProperty({ enum: ['applied', 'ignored', 'duplicate'] }) outcome!: WebhookResponse['outcome'];
}
