import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { MetricsService } from './metrics.service';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { OperatorGuard } from '../common/operator.guard';
import { ApiErrors, ApiOperator, HealthDto } from '../docs/api-docs';

@ApiTags('operators')
@Controller()
export class OpsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Liveness of this backend (not of the media nodes: see /api/nodes). */
  @Get('health')
  @ApiResponse({ status: 200, type: HealthDto, description: 'this backend instance is alive' })
  @ApiErrors(503)
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('metrics')
  @UseGuards(OperatorGuard)
  @ApiOperator()
  @ApiResponse({ status: 200, description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } })
  @ApiErrors(401, 404)
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    // Set here rather than with @Header: that would describe the errors as text too.
    res.type('text/plain; version=0.0.4; charset=utf-8');
    return this.metrics.registry.metrics();
  }
}
