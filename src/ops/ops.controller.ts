import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { MetricsService } from '../observability/metrics.service';
import { ReadinessService } from './readiness.service';
import { ApiExtraModels, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { OperatorGuard } from '../common/operator.guard';
import type { HealthResponse, ReadinessResponse } from '../contracts';
import { ApiErrorDto, ApiErrors, ApiOperator } from '../openapi/openapi.decorators';
import { HealthResponseDto, ReadinessResponseDto } from './dto/health.dto';

@ApiTags('operators')
@Controller()
export class OpsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly readiness: ReadinessService,
  ) {}

  /** Liveness of this backend (not of the media nodes: see /api/nodes). */
  @Get('health')
  @ApiResponse({ status: 200, type: HealthResponseDto, description: 'this backend instance is alive' })
  @ApiErrors([503], { 503: 'this instance is shutting down' })
  health(): HealthResponse {
    return { status: 'ok' };
  }

  /** Readiness: the store answers and a media node is up (each node listed); 503 with the same body otherwise. */
  @Get('health/ready')
  @ApiResponse({
    status: 200,
    type: ReadinessResponseDto,
    description: 'ready: config, store and at least one media node up',
  })
  @ApiExtraModels(ReadinessResponseDto, ApiErrorDto)
  @ApiResponse({
    status: 503,
    description: 'not ready: which check failed and why (terminus), or this instance is shutting down (an API error)',
    content: {
      'application/json': {
        schema: { oneOf: [{ $ref: getSchemaPath(ReadinessResponseDto) }, { $ref: getSchemaPath(ApiErrorDto) }] },
      },
    },
  })
  async ready(@Res({ passthrough: true }) res: Response): Promise<ReadinessResponse> {
    const { ready, result } = await this.readiness.check();
    if (!ready) res.status(503);
    return result;
  }

  @Get('metrics')
  @UseGuards(OperatorGuard)
  @ApiOperator()
  @ApiResponse({
    status: 200,
    description: 'Prometheus text format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    // Set here rather than with @Header: that would describe the errors as text too.
    res.type('text/plain; version=0.0.4; charset=utf-8');
    return this.metrics.registry.metrics();
  }
}
