import { ApiProperty } from '@nestjs/swagger';
import type { GetTokenRequest, GetTokenResponse } from '../../contracts';
import { SessionIdField } from './session-params.dto';

/** The original tutorial's call, kept for parity: the same session id rule as the path parameter. */
export class GetTokenDto implements GetTokenRequest {
  @SessionIdField()
  sessionId!: string;
}

export class GetTokenResponseDto implements GetTokenResponse {
  @ApiProperty() token!: string;
  @ApiProperty() url!: string;
}
