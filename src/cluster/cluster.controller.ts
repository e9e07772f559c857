import { Controller, Get, UseGuards } from '@nestjs/common';
import { OperatorGuard } from '../common/operator.guard';
import { NodePlacementService } from './node-placement.service';

@Controller('api/nodes')
@UseGuards(OperatorGuard)
export class ClusterController {
  constructor(private readonly placement: NodePlacementService) {}

  @Get()
  list() {
    return this.placement.describe();
  }
}
