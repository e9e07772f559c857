import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { OperatorGuard } from '../common/operator.guard';

@Controller()
export class OpsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Liveness of this backend (not of the media nodes: see /api/nodes). */
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('metrics')
  @UseGuards(OperatorGuard)
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
