import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';

export class RejoinKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 256, description: 'the key the join answered, once' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  rejoinKey!: string;
}

export class RejoinDto extends RejoinKeyDto {
  /** The node URL the client lost; the backend probes it at once. */
  @ApiPropertyOptional({ format: 'uri', description: 'the ws:// or wss:// node URL the client lost; probed at once', example: 'ws://127.0.0.1:7880' })
  @IsOptional()
  @IsUrl({ protocols: ['ws', 'wss'], require_tld: false, require_protocol: true }, { message: 'failedUrl must be a ws:// or wss:// URL' })
  failedUrl?: string;
}
