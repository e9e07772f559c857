import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { AppInfo, InfoNode, InstanceInfo, NodeStatus } from '../../contracts';
import { NODE_STATUSES } from '../../nodes/dto/node-summary.dto';

export class InfoNodeDto implements InfoNode {
  @ApiProperty() url!: string;
  @ApiPropertyOptional({ enum: NODE_STATUSES }) status!: NodeStatus | undefined;
  @ApiPropertyOptional() name?: string;
  @ApiPropertyOptional({ type: 'integer' }) pid?: number;
  @ApiPropertyOptional() process?: string;
}

export class InstanceDto implements InstanceInfo {
  @ApiProperty({ type: 'integer' }) pid!: number;
  @ApiProperty({ enum: ['memory', 'redis'] }) store!: 'memory' | 'redis';
  @ApiProperty({ description: 'npm run cluster started it: POST /api/dev/crash-instance SIGKILLs it' })
  crashable!: boolean;
}

export class AppInfoDto implements AppInfo {
  @ApiProperty() devCluster!: boolean;
  @ApiProperty({ type: () => [InfoNodeDto] }) nodes!: InfoNodeDto[];
  @ApiProperty({ type: () => InstanceDto }) instance!: InstanceDto;
}
