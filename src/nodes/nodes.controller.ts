import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { OperatorGuard } from '../common/operator.guard';
import { ApiErrors, ApiOperator, NodeViewDto } from '../docs/api-docs';
import { NodePlacementService } from './node-placement.service';

@ApiTags('operators')
@ApiOperator()
@Controller('api/nodes')
@UseGuards(OperatorGuard)
export class NodesController {
  constructor(private readonly placement: NodePlacementService) {}

  @Get()
  @ApiResponse({ status: 200, type: [NodeViewDto], description: "each node's state, since when, why, and its load" })
  @ApiErrors(401, 404, 503)
  list() {
    return this.placement.describe();
  }
}
