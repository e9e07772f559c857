import { Matches } from 'class-validator';
import { IDENTITY_PATTERN, IDENTITY_RULE, SESSION_ID_PATTERN, SESSION_ID_RULE } from '../../contracts';

export class SessionParamsDto {
  @Matches(SESSION_ID_PATTERN, { message: SESSION_ID_RULE })
  sessionId!: string;
}

export class ParticipantParamsDto extends SessionParamsDto {
  @Matches(IDENTITY_PATTERN, { message: IDENTITY_RULE })
  identity!: string;
}
