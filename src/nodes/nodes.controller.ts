import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { OperatorGuard } from '../common/operator.guard';
import type { NodeSummary } from '../contracts';
import { ApiErrors, ApiOperator } from '../openapi/openapi.decorators';
import { NodeSummaryDto } from './dto/node-summary.dto';
import { NodePlacementService } from './node-placement.service';

@ApiTags('operators')
@ApiOperator()
@Controller('api/nodes')
@UseGuards(OperatorGuard)
export class NodesController {
  constructor(private readonly placement: NodePlacementService) {}

  @Get()
  @ApiResponse({ status: 200, type: [NodeSummaryDto], description: "each node's state, since when, why, and its load" })
  @ApiErrors([503])
  list(): Promise<NodeSummary[]> {
    return this.placement.describe();
  }
}
