import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { SessionParamsDto } from '../sessions/dto/session-params.dto';
import type { AppInfo } from '../contracts';
import { DevModeService } from './dev-mode.service';
import { OperatorGuard } from '../common/operator.guard';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiOperator, AppInfoDto } from '../docs/api-docs';

@ApiTags('operators')
@ApiOperator()
@Controller('api')
@UseGuards(OperatorGuard)
export class DevModeController {
  constructor(private readonly devMode: DevModeService) {}

  @Get('info')
  @ApiResponse({ status: 200, type: AppInfoDto, description: 'the answering instance and the nodes it sees' })
  @ApiErrors(401, 404)
  info(): AppInfo {
    return this.devMode.info();
  }

  /** The sample app's "crash my media node" button: SIGKILL of the node hosting the session. */
  @Post('dev/sessions/:sessionId/crash-node')
  @HttpCode(200)
  @ApiResponse({ status: 200, description: 'the embedded dev cluster only: the node was SIGKILLed', schema: { type: 'object', properties: { killed: { type: 'string' }, url: { type: 'string' } } } })
  @ApiErrors(400, 401, 404, 409)
  crash(@Param() params: SessionParamsDto): Promise<{ killed: string; url: string }> {
    return this.devMode.crashNodeOf(params.sessionId);
  }

  /** The sample app's "crash my backend instance" (npm run cluster only): this instance SIGKILLs itself. */
  @Post('dev/crash-instance')
  @HttpCode(202)
  @ApiResponse({ status: 202, description: 'npm run cluster only: this instance SIGKILLs itself', schema: { type: 'object', properties: { killed: { type: 'integer' } } } })
  @ApiErrors(401, 404)
  crashInstance(): { killed: number } {
    return this.devMode.crashInstance();
  }
}
