import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { SessionParamsDto } from '../sessions/dto/session-params.dto';
import type { AppInfo, CrashInstanceResponse, CrashNodeResponse } from '../contracts';
import { DevModeService } from './dev-mode.service';
import { OperatorGuard } from '../common/operator.guard';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiDevTool, ApiErrors, ApiOperator } from '../openapi/openapi.decorators';
import { AppInfoDto } from './dto/app-info.dto';
import { CrashInstanceResponseDto, CrashNodeResponseDto } from './dto/dev-tools.dto';

@Controller('api')
@UseGuards(OperatorGuard)
export class DevModeController {
  constructor(private readonly devMode: DevModeService) {}

  @Get('info')
  @ApiTags('operators')
  @ApiOperator()
  @ApiResponse({ status: 200, type: AppInfoDto, description: 'the answering instance and the nodes it sees' })
  @ApiErrors([503])
  info(): AppInfo {
    return this.devMode.info();
  }

  /** The sample app's "crash my media node" button: SIGKILL of the node hosting the session. */
  @Post('dev/sessions/:sessionId/crash-node')
  @HttpCode(200)
  @ApiDevTool()
  @ApiResponse({
    status: 200,
    type: CrashNodeResponseDto,
    description: 'the embedded dev cluster only: the node was SIGKILLed',
  })
  @ApiErrors([400, 404, 409, 503], {
    404: 'no such session, or no embedded cluster (started with --url)',
    409: 'its node is already dead',
  })
  crash(@Param() params: SessionParamsDto): Promise<CrashNodeResponse> {
    return this.devMode.crashNodeOf(params.sessionId);
  }

  /** The sample app's "crash my backend instance" (npm run cluster only): this instance SIGKILLs itself. */
  @Post('dev/crash-instance')
  @HttpCode(202)
  @ApiDevTool()
  @ApiResponse({
    status: 202,
    type: CrashInstanceResponseDto,
    description: 'npm run cluster only: this instance SIGKILLs itself',
  })
  @ApiErrors([404, 503], { 404: 'this instance was not started by npm run cluster' })
  crashInstance(): CrashInstanceResponse {
    return this.devMode.crashInstance();
  }
}
