import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import type { JoinRequest, JoinResponse, RoomSettingsRequest } from '../../contracts';
import {
  AGENT_NAME_PATTERN,
  AGENT_NAME_RULE,
  MAX_METADATA_BYTES,
  MAX_SESSION_AGENTS,
  NAME_CHARACTERS,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  NAME_RULE,
} from '../../contracts';
import { MaxUtf8Bytes, Omittable } from './field-rules';

/**
 * Metadata: a string of at most MAX_METADATA_BYTES of UTF-8. The schema can state only the code points
 * (maxLength, the bound for ASCII); the bytes are in the description.
 */
const MetadataField = (what: string) =>
  applyDecorators(
    ApiPropertyOptional({
      maxLength: MAX_METADATA_BYTES,
      description: `${what}, at most ${MAX_METADATA_BYTES} bytes of UTF-8`,
    }),
    Omittable(),
    IsString(),
    MaxUtf8Bytes(MAX_METADATA_BYTES),
  );

const MAX_EMPTY_TIMEOUT_SEC = 86_400;
const MAX_ROOM_PARTICIPANTS = 1000;

/** Room settings, honoured when this join creates the session; kept for every rebuild. */
export class RoomSettingsDto implements RoomSettingsRequest {
  @MetadataField('room metadata')
  metadata?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_EMPTY_TIMEOUT_SEC,
    description: 'seconds the room stays open before anyone joins',
  })
  @Omittable()
  @IsInt()
  @Min(0)
  @Max(MAX_EMPTY_TIMEOUT_SEC)
  emptyTimeoutSec?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_ROOM_PARTICIPANTS,
    description: '0: the --max-participants cap',
  })
  @Omittable()
  @IsInt()
  @Min(0)
  @Max(MAX_ROOM_PARTICIPANTS)
  maxParticipants?: number;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', pattern: AGENT_NAME_PATTERN.source },
    maxItems: MAX_SESSION_AGENTS,
    uniqueItems: true,
    description:
      `LiveKit agents (by the agent name their workers register) dispatched to the room, and again wherever a rebuild moves it; ` +
      `at most ${MAX_SESSION_AGENTS}, each once; ${AGENT_NAME_RULE}`,
    example: ['echo'],
  })
  @Omittable()
  @IsArray()
  @ArrayMaxSize(MAX_SESSION_AGENTS)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(AGENT_NAME_PATTERN, { each: true, message: AGENT_NAME_RULE })
  agents?: string[];
}

/** Body of a join. */
export class CreateParticipantDto implements JoinRequest {
  // The schema's pattern and lengths are NAME_PATTERN's two halves (no JSON Schema engine reads its look-ahead alike).
  @ApiProperty({
    pattern: NAME_CHARACTERS.source,
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    description: NAME_RULE,
    example: 'Ann',
  })
  @IsString()
  @Matches(NAME_PATTERN, { message: NAME_RULE })
  name!: string;

  @MetadataField('participant metadata, carried into its token')
  metadata?: string;

  @ApiPropertyOptional({
    type: () => RoomSettingsDto,
    description: 'counted from an operator or an auth token only, when this join creates the session',
  })
  @Omittable()
  @IsObject()
  @ValidateNested()
  @Type(() => RoomSettingsDto)
  room?: RoomSettingsDto;
}

export class JoinResponseDto implements JoinResponse {
  @ApiProperty() sessionId!: string;
  @ApiProperty() identity!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'the media node to connect to' }) url!: string;
  @ApiProperty({ description: 'LiveKit access token for room = sessionId, 10 minutes' }) token!: string;
  @ApiProperty({ description: 'returned once; rejoins, leaves and the socket handshake need it' }) rejoinKey!: string;
  @ApiProperty({ type: 'integer', description: 'placement counter: a newer one wins' }) generation!: number;
}
