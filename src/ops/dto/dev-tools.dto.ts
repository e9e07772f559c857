import { ApiProperty } from '@nestjs/swagger';
import type { CrashInstanceResponse, CrashNodeResponse } from '../../contracts';

export class CrashNodeResponseDto implements CrashNodeResponse {
  @ApiProperty({ description: 'the dev cluster node SIGKILLed' }) killed!: string;
  @ApiProperty() url!: string;
}

export class CrashInstanceResponseDto implements CrashInstanceResponse {
  @ApiProperty({
    type: 'integer',
    description: 'the pid of this instance, which SIGKILLs itself right after answering',
  })
  killed!: number;
}
