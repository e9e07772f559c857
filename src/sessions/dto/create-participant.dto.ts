import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { MAX_METADATA_BYTES, MaxUtf8Bytes } from './metadata.validator';

/** 1-64 printable characters: no control, format or unassigned code points, not blank. */
export const NAME_PATTERN = /^(?=.*\S)[^\p{C}]{1,64}$/u;

/** Room settings, honoured when this join creates the session; kept for every rebuild. */
export class RoomSettingsDto {
  @IsOptional()
  @IsString()
  @MaxUtf8Bytes(MAX_METADATA_BYTES)
  metadata?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400)
  emptyTimeoutSec?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  maxParticipants?: number;
}

export class CreateParticipantDto {
  @IsString()
  @Matches(NAME_PATTERN, { message: 'name must be 1-64 printable characters' })
  name!: string;

  @IsOptional()
  @IsString()
  @MaxUtf8Bytes(MAX_METADATA_BYTES)
  metadata?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => RoomSettingsDto)
  room?: RoomSettingsDto;
}

/** The original tutorial's call, kept for parity. */
export class GetTokenDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,128}$/, { message: 'sessionId must be 1-128 characters of A-Z, a-z, 0-9, _ or -' })
  sessionId!: string;
}
