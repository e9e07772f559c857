import { Module } from '@nestjs/common';
import { NodesController } from './nodes.controller';
import { NodeHealthService } from './node-health.service';
import { NodePlacementService } from './node-placement.service';

/** The media nodes: health (probes, verdicts, node-down / node-up events) and placement. */
@Module({
  controllers: [NodesController],
  providers: [NodeHealthService, NodePlacementService],
  exports: [NodeHealthService, NodePlacementService],
})
export class NodesModule {}
