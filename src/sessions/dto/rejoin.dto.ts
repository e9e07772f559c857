import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import type { RejoinRequest, RejoinResponse } from '../../contracts';
import { MAX_NODE_URL_LENGTH, NODE_URL_PATTERN, NODE_URL_RULE } from '../../contracts';
import { CodePoints, Omittable } from './field-rules';
import { RejoinKeyField } from './leave.dto';

export class RejoinDto implements RejoinRequest {
  @RejoinKeyField()
  rejoinKey!: string;

  @ApiPropertyOptional({
    pattern: NODE_URL_PATTERN.source,
    minLength: 1,
    maxLength: MAX_NODE_URL_LENGTH,
    description: 'the ws:// or wss:// node URL the client lost; probed at once',
    example: 'ws://127.0.0.1:7880',
  })
  @Omittable()
  @IsString()
  @CodePoints(1, MAX_NODE_URL_LENGTH)
  @Matches(NODE_URL_PATTERN, { message: NODE_URL_RULE })
  failedUrl?: string;
}

export class RejoinResponseDto implements RejoinResponse {
  @ApiProperty() url!: string;
  @ApiProperty() token!: string;
  @ApiProperty({ type: 'integer' }) generation!: number;
}
