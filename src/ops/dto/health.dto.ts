import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { HealthResponse, ReadinessResponse } from '../../contracts';

export class HealthResponseDto implements HealthResponse {
  @ApiProperty({ enum: ['ok'] }) status!: 'ok';
}

/** @nestjs/terminus's answer: each check by name, up or down, with what it found. */
export class ReadinessResponseDto implements ReadinessResponse {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] }) status!: ReadinessResponse['status'];
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'the checks that are up' })
  info?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'the checks that are down' })
  error?: Record<string, unknown>;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'every check: config, store, media (each node with its state and why)',
  })
  details!: Record<string, unknown>;
}
