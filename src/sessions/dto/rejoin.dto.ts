import { IsNotEmpty, IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';

export class RejoinKeyDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  rejoinKey!: string;
}

export class RejoinDto extends RejoinKeyDto {
  /** The node URL the client lost; the backend probes it at once. */
  @IsOptional()
  @IsUrl({ protocols: ['ws', 'wss'], require_tld: false, require_protocol: true }, { message: 'failedUrl must be a ws:// or wss:// URL' })
  failedUrl?: string;
}
