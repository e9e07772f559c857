import { Controller, Get } from '@nestjs/common';
import { NodePlacementService } from './node-placement.service';

@Controller('api/nodes')
export class ClusterController {
  constructor(private readonly placement: NodePlacementService) {}

  @Get()
  list() {
    return this.placement.describe();
  }
}
