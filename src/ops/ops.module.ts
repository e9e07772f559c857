import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { DevModeController } from './dev-mode.controller';
import { DevModeService } from './dev-mode.service';
import { MetricsService } from './metrics.service';
import { OpsController } from './ops.controller';

/** For operators and demos: /health, /metrics, /api/info and the dev cluster's crash button. */
@Module({
  imports: [ClusterModule],
  controllers: [OpsController, DevModeController],
  providers: [MetricsService, DevModeService],
  exports: [MetricsService],
})
export class OpsModule {}
