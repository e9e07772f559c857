import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { IDENTITY_PATTERN, IDENTITY_RULE, SESSION_ID_PATTERN, SESSION_ID_RULE } from '../../contracts';

/** A session id, in a path or a body. */
export const SessionIdField = () =>
  applyDecorators(
    ApiProperty({ pattern: SESSION_ID_PATTERN.source, description: SESSION_ID_RULE, example: 'standup' }),
    Matches(SESSION_ID_PATTERN, { message: SESSION_ID_RULE }),
  );

export class SessionParamsDto {
  @SessionIdField()
  sessionId!: string;
}

export class ParticipantParamsDto extends SessionParamsDto {
  @ApiProperty({ pattern: IDENTITY_PATTERN.source, description: IDENTITY_RULE })
  @Matches(IDENTITY_PATTERN, { message: IDENTITY_RULE })
  identity!: string;
}
