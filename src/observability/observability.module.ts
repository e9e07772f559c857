import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** Metrics every feature reports to; imports no feature (ops/ reads the registry for /metrics). */
@Global()
@Module({
  providers: [MetricsService],
  exports: [MetricsService],
})
export class ObservabilityModule {}
