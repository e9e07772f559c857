import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { IDENTITY_PATTERN, IDENTITY_RULE, SESSION_ID_PATTERN, SESSION_ID_RULE } from '../../contracts';

export class SessionParamsDto {
  @ApiProperty({ pattern: SESSION_ID_PATTERN.source, description: SESSION_ID_RULE, example: 'standup' })
  @Matches(SESSION_ID_PATTERN, { message: SESSION_ID_RULE })
  sessionId!: string;
}

export class ParticipantParamsDto extends SessionParamsDto {
  @ApiProperty({ pattern: IDENTITY_PATTERN.source, description: IDENTITY_RULE })
  @Matches(IDENTITY_PATTERN, { message: IDENTITY_RULE })
  identity!: string;
}
