import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { OperatorGuard } from '../common/operator.guard';
import { ApiErrors, ApiJoin, ApiOperator } from '../openapi/openapi.decorators';
import { RateLimitGuard } from '../common/rate-limit.guard';
import type { GetTokenResponse, JoinResponse, RejoinResponse, SessionSummary } from '../contracts';
import { CreateParticipantDto, JoinResponseDto } from './dto/create-participant.dto';
import { GetTokenDto, GetTokenResponseDto } from './dto/get-token.dto';
import { LeaveDto } from './dto/leave.dto';
import { RejoinDto, RejoinResponseDto } from './dto/rejoin.dto';
import { SessionSummaryDto } from './dto/session-summary.dto';
import { ParticipantParamsDto, SessionParamsDto } from './dto/session-params.dto';
import { JoinAuthService } from './join-auth.service';
import { SessionsService } from './sessions.service';

const WRONG_KEY = { 401: 'wrong rejoin key', 404: 'no such participant, or it has left for good' };

@ApiTags('sessions')
@Controller('api')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly joinAuth: JoinAuthService,
  ) {}

  @Post('sessions/:sessionId/participants')
  @UseGuards(RateLimitGuard)
  @ApiJoin()
  @ApiResponse({ status: 201, type: JoinResponseDto, description: 'joined: connect to url with token; keep rejoinKey' })
  @ApiErrors([400, 409, 413, 429, 502, 503])
  async join(
    @Param() params: SessionParamsDto,
    @Body() body: CreateParticipantDto,
    @Headers('authorization') authorization?: string,
  ): Promise<JoinResponse> {
    const grant = await this.joinAuth.authorize(authorization, params.sessionId);
    return this.sessions.join(params.sessionId, body, { grant });
  }

  @Post('sessions/:sessionId/participants/:identity/rejoin')
  @UseGuards(RateLimitGuard)
  @HttpCode(200)
  @ApiResponse({ status: 200, type: RejoinResponseDto, description: 'where to (re)connect now, with a fresh token' })
  @ApiErrors([400, 401, 404, 413, 429, 503], WRONG_KEY)
  rejoin(@Param() params: ParticipantParamsDto, @Body() body: RejoinDto): Promise<RejoinResponse> {
    return this.sessions.rejoin(params.sessionId, params.identity, body);
  }

  @Delete('sessions/:sessionId/participants/:identity')
  @UseGuards(RateLimitGuard)
  @HttpCode(204)
  @ApiResponse({ status: 204, description: 'left for good; never invited back' })
  @ApiErrors([400, 401, 404, 413, 429, 503], WRONG_KEY)
  leave(@Param() params: ParticipantParamsDto, @Body() body: LeaveDto): Promise<void> {
    return this.sessions.leave(params.sessionId, params.identity, body.rejoinKey);
  }

  @Get('sessions')
  @UseGuards(OperatorGuard)
  @ApiOperator()
  @ApiResponse({ status: 200, type: [SessionSummaryDto], description: 'every session, without key hashes' })
  @ApiErrors([503])
  list(): Promise<SessionSummary[]> {
    return this.sessions.list();
  }

  @Post('get-token')
  @UseGuards(RateLimitGuard)
  @HttpCode(200)
  @ApiJoin()
  @ApiResponse({
    status: 200,
    type: GetTokenResponseDto,
    description: "the original tutorial's call: a token for a fresh participant",
  })
  @ApiErrors([400, 409, 413, 429, 502, 503])
  async getToken(
    @Body() body: GetTokenDto,
    @Headers('authorization') authorization?: string,
  ): Promise<GetTokenResponse> {
    const grant = await this.joinAuth.authorize(authorization, body.sessionId);
    return this.sessions.getToken(body.sessionId, grant);
  }
}
