import { ApiProperty } from '@nestjs/swagger';
import type { ParticipantState, ParticipantSummary, SessionRoomSettings, SessionSummary } from '../../contracts';

const PARTICIPANT_STATES: ParticipantState[] = ['invited', 'joined', 'leaving', 'left'];

export class SessionRoomSettingsDto implements SessionRoomSettings {
  @ApiProperty() metadata!: string;
  @ApiProperty({ type: 'integer' }) emptyTimeoutSec!: number;
  @ApiProperty({ type: 'integer' }) departureTimeoutSec!: number;
  @ApiProperty({ type: 'integer', description: '0: unlimited' }) maxParticipants!: number;
  @ApiProperty({ type: [String], description: 'the agents dispatched to the room by name' }) agents!: string[];
}

export class ParticipantSummaryDto implements ParticipantSummary {
  @ApiProperty() identity!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: PARTICIPANT_STATES }) state!: ParticipantState;
}

export class SessionSummaryDto implements SessionSummary {
  @ApiProperty() sessionId!: string;
  @ApiProperty() nodeUrl!: string;
  @ApiProperty({ type: 'integer' }) generation!: number;
  @ApiProperty() waitingForNode!: boolean;
  @ApiProperty({ type: () => SessionRoomSettingsDto }) room!: SessionRoomSettingsDto;
  @ApiProperty({ type: () => [ParticipantSummaryDto] }) participants!: ParticipantSummaryDto[];
}
