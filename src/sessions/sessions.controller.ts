import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { OperatorGuard } from '../common/operator.guard';
import { ApiErrors, ApiOperator, ApiOptionalAuthorization, GetTokenResponseDto, JoinResponseDto, RejoinResponseDto, SessionViewDto } from '../docs/api-docs';
import { RateLimitGuard } from '../common/rate-limit.guard';
import type { JoinResponse, RejoinResponse } from '../contracts';
import { CreateParticipantDto, GetTokenDto } from './dto/create-participant.dto';
import { RejoinDto, RejoinKeyDto } from './dto/rejoin.dto';
import { ParticipantParamsDto, SessionParamsDto } from './dto/session-params.dto';
import { JoinAuthService } from './join-auth.service';
import { SessionsService, SessionView } from './sessions.service';

@ApiTags('sessions')
@Controller('api')
export class SessionsController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly joinAuth: JoinAuthService,
  ) {}

  @Post('sessions/:sessionId/participants')
  @UseGuards(RateLimitGuard)
  @ApiBearerAuth('join')
  @ApiOptionalAuthorization('Bearer <join token> with --auth-secret; Bearer <admin token> for an operator')
  @ApiResponse({ status: 201, type: JoinResponseDto, description: 'joined: connect to url with token; keep rejoinKey' })
  @ApiErrors(400, 401, 403, 409, 413, 429, 503)
  async join(@Param() params: SessionParamsDto, @Body() body: CreateParticipantDto, @Headers('authorization') authorization?: string): Promise<JoinResponse> {
    const grant = await this.joinAuth.authorize(authorization, params.sessionId);
    return this.sessions.join(params.sessionId, body, { grant });
  }

  @Post('sessions/:sessionId/participants/:identity/rejoin')
  @UseGuards(RateLimitGuard)
  @HttpCode(200)
  @ApiResponse({ status: 200, type: RejoinResponseDto, description: 'where to (re)connect now, with a fresh token' })
  @ApiErrors(400, 401, 404, 413, 429, 503)
  rejoin(@Param() params: ParticipantParamsDto, @Body() body: RejoinDto): Promise<RejoinResponse> {
    return this.sessions.rejoin(params.sessionId, params.identity, body);
  }

  @Delete('sessions/:sessionId/participants/:identity')
  @UseGuards(RateLimitGuard)
  @HttpCode(204)
  @ApiResponse({ status: 204, description: 'left for good; never invited back' })
  @ApiErrors(400, 401, 404, 413, 429, 503)
  leave(@Param() params: ParticipantParamsDto, @Body() body: RejoinKeyDto): Promise<void> {
    return this.sessions.leave(params.sessionId, params.identity, body.rejoinKey);
  }

  @Get('sessions')
  @UseGuards(OperatorGuard)
  @ApiOperator()
  @ApiResponse({ status: 200, type: [SessionViewDto], description: 'every session, without key hashes' })
  @ApiErrors(401, 404, 503)
  list(): Promise<SessionView[]> {
    return this.sessions.list();
  }

  @Post('get-token')
  @UseGuards(RateLimitGuard)
  @HttpCode(200)
  @ApiBearerAuth('join')
  @ApiOptionalAuthorization('Bearer <join token> with --auth-secret; Bearer <admin token> for an operator')
  @ApiResponse({ status: 200, type: GetTokenResponseDto, description: "the original tutorial's call: a token for a fresh participant" })
  @ApiErrors(400, 401, 403, 409, 413, 429, 503)
  async getToken(@Body() body: GetTokenDto, @Headers('authorization') authorization?: string): Promise<{ token: string; url: string }> {
    const grant = await this.joinAuth.authorize(authorization, body.sessionId);
    return this.sessions.getToken(body.sessionId, grant);
  }
}
