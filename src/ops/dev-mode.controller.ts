import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { SessionParamsDto } from '../sessions/dto/session-params.dto';
import type { AppInfo } from '../contracts';
import { DevModeService } from './dev-mode.service';
import { OperatorGuard } from '../common/operator.guard';

@Controller('api')
@UseGuards(OperatorGuard)
export class DevModeController {
  constructor(private readonly devMode: DevModeService) {}

  @Get('info')
  info(): AppInfo {
    return this.devMode.info();
  }

  /** The sample app's "crash my media node" button: SIGKILL of the node hosting the session. */
  @Post('dev/sessions/:sessionId/crash-node')
  @HttpCode(200)
  crash(@Param() params: SessionParamsDto): Promise<{ killed: string; url: string }> {
    return this.devMode.crashNodeOf(params.sessionId);
  }

  /** The sample app's "crash my backend instance" (npm run cluster only): this instance SIGKILLs itself. */
  @Post('dev/crash-instance')
  @HttpCode(202)
  crashInstance(): { killed: number } {
    return this.devMode.crashInstance();
  }
}
