import { Module } from '@nestjs/common';
import { ClusterController } from './cluster.controller';
import { NodeHealthService } from './node-health.service';
import { NodePlacementService } from './node-placement.service';

/** The media nodes: health (probes, verdicts, node-down / node-up events) and placement. */
@Module({
  controllers: [ClusterController],
  providers: [NodeHealthService, NodePlacementService],
  exports: [NodeHealthService, NodePlacementService],
})
export class ClusterModule {}
