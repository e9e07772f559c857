import { Matches } from 'class-validator';

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const IDENTITY_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export class SessionParamsDto {
  @Matches(SESSION_ID_PATTERN, { message: 'sessionId must be 1-128 characters of A-Z, a-z, 0-9, _ or -' })
  sessionId!: string;
}

export class ParticipantParamsDto extends SessionParamsDto {
  @Matches(IDENTITY_PATTERN, { message: 'identity must be 1-128 characters of A-Z, a-z, 0-9, _ or -' })
  identity!: string;
}
