import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { NodePeerSummary, NodeStatus, NodeSummary } from '../../contracts';

export const NODE_STATUSES: NodeStatus[] = ['unknown', 'up', 'suspect', 'down'];

export class NodePeerSummaryDto implements NodePeerSummary {
  @ApiProperty({ description: 'the instance (host:pid)' }) instance!: string;
  @ApiProperty({ enum: NODE_STATUSES }) status!: NodeStatus;
  @ApiProperty({ description: 'epoch ms of the last change it saw' }) since!: number;
  @ApiProperty() reason!: string;
}

export class LiveKitNodeDto {
  @ApiPropertyOptional() id?: string;
  @ApiProperty() address!: string;
  @ApiProperty() registered!: boolean;
}

export class ClientFailureDto {
  @ApiProperty({ description: 'epoch ms it was first marked' }) since!: number;
  @ApiProperty({ description: 'epoch ms it takes sessions again' }) until!: number;
  @ApiProperty() reason!: string;
}

export class NodeSummaryDto implements NodeSummary {
  @ApiProperty() url!: string;
  @ApiProperty({ enum: NODE_STATUSES }) status!: NodeStatus;
  @ApiProperty({ description: 'epoch ms of the last change' }) since!: number;
  @ApiProperty() sinceIso!: string;
  @ApiProperty({ description: 'why it is in that state' }) reason!: string;
  @ApiProperty({ type: 'integer' }) consecutiveFailures!: number;
  @ApiProperty({ type: 'integer' }) consecutiveSuccesses!: number;
  @ApiPropertyOptional() lastProbeAt?: number;
  @ApiPropertyOptional() lastLatencyMs?: number;
  @ApiProperty() silentMs!: number;
  @ApiProperty({ type: 'integer' }) sessions!: number;
  @ApiProperty({ type: 'integer' }) participants!: number;
  @ApiProperty({
    type: () => [NodePeerSummaryDto],
    description: 'what the other backend instances sharing the store see of this node (empty with one instance)',
  })
  peers!: NodePeerSummaryDto[];
  @ApiPropertyOptional({
    type: () => ClientFailureDto,
    description:
      "answers its probes, but a session's participants lost their media path to it: no new sessions until `until`",
  })
  failingForClients?: ClientFailureDto;
  @ApiPropertyOptional({
    type: () => LiveKitNodeDto,
    description:
      "with --livekit-redis: the node's id in LiveKit's registry and its address (registered: in the registry now)",
  })
  livekit?: LiveKitNodeDto;
}
