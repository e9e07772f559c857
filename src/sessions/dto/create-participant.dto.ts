import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { MAX_METADATA_BYTES, NAME_PATTERN, NAME_RULE } from '../../contracts';
import { MaxUtf8Bytes } from './metadata.validator';
import { SessionParamsDto } from './session-params.dto';

/** Room settings, honoured when this join creates the session; kept for every rebuild. */
export class RoomSettingsDto {
  @ApiPropertyOptional({ description: `room metadata, at most ${MAX_METADATA_BYTES} bytes of UTF-8` })
  @IsOptional()
  @IsString()
  @MaxUtf8Bytes(MAX_METADATA_BYTES)
  metadata?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 86_400, description: 'seconds the room stays open before anyone joins' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400)
  emptyTimeoutSec?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 1000, description: '0: the --max-participants cap' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  maxParticipants?: number;
}

export class CreateParticipantDto {
  @ApiProperty({ minLength: 1, maxLength: 64, description: NAME_RULE, example: 'Ann' })
  @IsString()
  @Matches(NAME_PATTERN, { message: NAME_RULE })
  name!: string;

  @ApiPropertyOptional({ description: `participant metadata, carried into its token; at most ${MAX_METADATA_BYTES} bytes of UTF-8` })
  @IsOptional()
  @IsString()
  @MaxUtf8Bytes(MAX_METADATA_BYTES)
  metadata?: string;

  @ApiPropertyOptional({ type: () => RoomSettingsDto, description: 'counted from an operator or an auth token only, when this join creates the session' })
  @IsOptional()
  @ValidateNested()
  @Type(() => RoomSettingsDto)
  room?: RoomSettingsDto;
}

/** The original tutorial's call, kept for parity: the same session id rule as the path parameter. */
export class GetTokenDto extends SessionParamsDto {}
