import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { MAX_METADATA_BYTES, MaxUtf8Bytes } from './metadata.validator';
import { SessionParamsDto } from './session-params.dto';

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

/** The original tutorial's call, kept for parity: the same session id rule as the path parameter. */
export class GetTokenDto extends SessionParamsDto {}
