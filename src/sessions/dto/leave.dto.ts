import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import type { LeaveRequest } from '../../contracts';
import { CodePoints } from './field-rules';

const MAX_REJOIN_KEY_LENGTH = 256;

/** The rejoin key a rejoin or a leave carries. */
export const RejoinKeyField = () =>
  applyDecorators(
    ApiProperty({ minLength: 1, maxLength: MAX_REJOIN_KEY_LENGTH, description: 'the key the join answered, once' }),
    IsString(),
    CodePoints(1, MAX_REJOIN_KEY_LENGTH),
  );

/** Body of a leave for good (DELETE). */
export class LeaveDto implements LeaveRequest {
  @RejoinKeyField()
  rejoinKey!: string;
}
