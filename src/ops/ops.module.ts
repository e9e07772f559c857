import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { NodesModule } from '../nodes/nodes.module';
import { StateGauges } from './state-gauges';
import { DevModeController } from './dev-mode.controller';
import { DevModeService } from './dev-mode.service';
import { OpsController } from './ops.controller';
import { ReadinessService } from './readiness.service';

/** For operators and demos: /health, /health/ready, /metrics, /api/info and the dev cluster's crash button. */
@Module({
  imports: [NodesModule, TerminusModule.forRoot({ logger: false })],
  controllers: [OpsController, DevModeController],
  providers: [DevModeService, ReadinessService, StateGauges],
})
export class OpsModule {}
