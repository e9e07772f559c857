import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { MAX_METADATA_BYTES, NAME_PATTERN, NAME_RULE } from '../../contracts';
import { MaxUtf8Bytes } from './metadata.validator';
import { SessionParamsDto } from './session-params.dto';

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
  @Matches(NAME_PATTERN, { message: NAME_RULE })
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
