import { IsArray, IsBoolean, IsInt, IsNotEmpty, IsString, IsUrl, Max, Min } from 'class-validator';

export const APP_CONFIG = Symbol('AppConfig');

export const DEFAULT_PORT = 5000;
export const DEFAULT_DEV_NODES = 2;
export const DEFAULT_DEV_BASE_PORT = 7880;

/** The validated, typed configuration; built once at start-up by `parseConfig`. */
export class AppConfig {
  /** LiveKit node URLs (ws:// or wss://). Empty at parse time means: start the embedded dev cluster. */
  @IsArray()
  @IsUrl({ protocols: ['ws', 'wss'], require_tld: false, require_protocol: true }, { each: true, message: 'each URL must be ws:// or wss://' })
  urls: string[] = [];

  @IsString()
  @IsNotEmpty({ message: 'an API key is required' })
  apiKey = '';

  @IsString()
  @IsNotEmpty({ message: 'an API secret is required' })
  apiSecret = '';

  @IsInt({ message: 'must be an integer between 0 and 65535' })
  @Min(0, { message: 'must be an integer between 0 and 65535' })
  @Max(65535, { message: 'must be an integer between 0 and 65535' })
  port = DEFAULT_PORT;

  @IsString()
  @IsNotEmpty()
  // Loopback by default: a public bind is an explicit choice (--host 0.0.0.0, as the Dockerfile sets).
  host = '127.0.0.1';

  @IsBoolean()
  devCluster = false;

  @IsInt({ message: 'must be an integer between 1 and 8' })
  @Min(1, { message: 'must be an integer between 1 and 8' })
  @Max(8, { message: 'must be an integer between 1 and 8' })
  devNodes = DEFAULT_DEV_NODES;

  @IsInt({ message: 'must be an integer between 0 and 65535' })
  @Min(0, { message: 'must be an integer between 0 and 65535' })
  @Max(65535, { message: 'must be an integer between 0 and 65535' })
  devBasePort = DEFAULT_DEV_BASE_PORT;

  /** For logs: everything but the secret. */
  describe(): string {
    const mode = this.devCluster ? `embedded dev cluster (${this.devNodes} nodes)` : `${this.urls.length} node(s)`;
    return `${mode}, api key ${this.apiKey}, port ${this.port}`;
  }
}
