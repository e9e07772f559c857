import { Module } from '@nestjs/common';
import { LiveKitRegistry } from './livekit-cluster/livekit-registry.service';
import { NodesController } from './nodes.controller';
import { NodeHealthService } from './node-health.service';
import { NodePlacementService } from './node-placement.service';

/** The media nodes: health (probes, verdicts, node-down / node-up events), placement, and LiveKit's own registry in cluster mode. */
@Module({
  controllers: [NodesController],
  providers: [NodeHealthService, NodePlacementService, LiveKitRegistry],
  exports: [NodeHealthService, NodePlacementService, LiveKitRegistry],
})
export class NodesModule {}
