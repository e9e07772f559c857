import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { OperatorGuard } from '../common/operator.guard';
import { RateLimitGuard } from '../common/rate-limit.guard';
import type { JoinResponse, RejoinResponse } from '../contracts';
import { CreateParticipantDto, GetTokenDto } from './dto/create-participant.dto';
import { RejoinDto, RejoinKeyDto } from './dto/rejoin.dto';
import { ParticipantParamsDto, SessionParamsDto } from './dto/session-params.dto';
import { JoinAuthService } from './join-auth.service';
import { SessionsService, SessionView } from './sessions.service';

@Controller('api')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly joinAuth: JoinAuthService,
  ) {}

  @Post('sessions/:sessionId/participants')
  @UseGuards(RateLimitGuard)
  async join(@Param() params: SessionParamsDto, @Body() body: CreateParticipantDto, @Headers('authorization') authorization?: string): Promise<JoinResponse> {
    const grant = await this.joinAuth.authorize(authorization, params.sessionId);
    return this.sessions.join(params.sessionId, body, { grant });
  }

  @Post('sessions/:sessionId/participants/:identity/rejoin')
  @UseGuards(RateLimitGuard)
  @HttpCode(200)
  rejoin(@Param() params: ParticipantParamsDto, @Body() body: RejoinDto): Promise<RejoinResponse> {
    return this.sessions.rejoin(params.sessionId, params.identity, body);
  }

  @Delete('sessions/:sessionId/participants/:identity')
  @HttpCode(204)
  leave(@Param() params: ParticipantParamsDto, @Body() body: RejoinKeyDto): Promise<void> {
    return this.sessions.leave(params.sessionId, params.identity, body.rejoinKey);
  }

  @Get('sessions')
  @UseGuards(OperatorGuard)
  list(): Promise<SessionView[]> {
    return this.sessions.list();
  }

  @Post('get-token')
  @UseGuards(RateLimitGuard)
  @HttpCode(200)
  async getToken(@Body() body: GetTokenDto, @Headers('authorization') authorization?: string): Promise<{ token: string; url: string }> {
    const grant = await this.joinAuth.authorize(authorization, body.sessionId);
    return this.sessions.getToken(body.sessionId, grant);
  }
}
