import {
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';
import { describeRedisTarget, redactUrl, type RedisTarget } from './redis-target';

export const APP_CONFIG = Symbol('AppConfig');

export const DEFAULT_PORT = 5000;
export const DEFAULT_DEV_NODES = 2;
export const DEFAULT_DEV_BASE_PORT = 7880;
/** LiveKit's own signal port: where a node of LiveKit's cluster answers `GET /` at its own IP. */
export const DEFAULT_NODE_PORT = 7880;
const TRUST_PROXY_RULE = 'must be loopback, linklocal, uniquelocal, or addresses / subnets, comma-separated';
/** Per client address and minute, for each of join, rejoin, get-token and the socket handshake. */
export const DEFAULT_RATE_LIMIT = 60;
export const DEFAULT_MAX_SOCKETS_PER_ADDRESS = 32;
/**
 * Invites a session holds at once that nobody has seen connect yet (first joins; a rebuild's re-invites
 * of participants seen before do not count): over it a join answers 429. With webhooks a join is
 * confirmed within seconds; without, at the sweep after INVITE_CONFIRM_MS, so this is also how many
 * newcomers a webhook-less session takes a minute. An all-hands of more joining within the seconds
 * their clients take to connect needs it raised.
 */
export const DEFAULT_MAX_UNCONFIRMED_INVITES = 100;
/** Participants per session unless an operator or an auth token asks for fewer. */
export const DEFAULT_MAX_PARTICIPANTS = 100;
/** The longest a join token may live (exp - iat, or exp - now without iat): a day, as a login session. */
export const DEFAULT_AUTH_MAX_AGE_SECONDS = 86_400;
/** Sessions per media node, a ceiling beside --node-capacity's participants. */
export const DEFAULT_MAX_SESSIONS_PER_NODE = 500;

/**
 * The validated, typed configuration; built once at start-up by `parseConfig` and frozen. What only the
 * start-up learns later (the embedded cluster's URLs, a port picked for --port 0) makes a new frozen
 * copy through `resolved`, before any module sees it.
 */
export class AppConfig {
  /** LiveKit node URLs (ws:// or wss://). Empty at parse time means: start the embedded media cluster. */
  @IsArray()
  @IsUrl(
    { protocols: ['ws', 'wss'], require_tld: false, require_protocol: true },
    { each: true, message: 'each URL must be ws:// or wss://' },
  )
  readonly urls: readonly string[] = [];

  @IsString()
  @IsNotEmpty({ message: 'an API key is required' })
  readonly apiKey: string = '';

  @IsString()
  @IsNotEmpty({ message: 'an API secret is required' })
  readonly apiSecret: string = '';

  @IsInt({ message: 'must be an integer between 0 and 65535' })
  @Min(0, { message: 'must be an integer between 0 and 65535' })
  @Max(65535, { message: 'must be an integer between 0 and 65535' })
  readonly port: number = DEFAULT_PORT;

  @IsString()
  @IsNotEmpty()
  // Loopback by default: a public bind is an explicit choice (--host 0.0.0.0, as the Dockerfile sets).
  readonly host: string = '127.0.0.1';

  /** No --url: main.ts starts a media cluster of `media` nodes on loopback and uses it. */
  @IsBoolean()
  readonly embeddedCluster: boolean = false;

  @IsInt({ message: 'must be an integer between 1 and 8' })
  @Min(1, { message: 'must be an integer between 1 and 8' })
  @Max(8, { message: 'must be an integer between 1 and 8' })
  readonly devNodes: number = DEFAULT_DEV_NODES;

  @IsInt({ message: 'must be an integer between 0 and 65535' })
  @Min(0, { message: 'must be an integer between 0 and 65535' })
  @Max(65535, { message: 'must be an integer between 0 and 65535' })
  readonly devBasePort: number = DEFAULT_DEV_BASE_PORT;

  /** Which media nodes the embedded cluster runs: ours (no Go needed) or the real LiveKit server. */
  @IsIn(['dev', 'livekit'], { message: 'must be dev or livekit' })
  readonly media: 'dev' | 'livekit' = 'dev';

  /** Participants one media node may carry (placement skips a fuller node); 0 = no limit. */
  @IsInt({ message: 'must be an integer >= 0 (0: no limit)' })
  @Min(0, { message: 'must be an integer >= 0 (0: no limit)' })
  readonly nodeCapacity: number = 0;

  /** Redis shared by every backend instance (sessions, keys, locks, socket rooms); unset = in memory, one instance. */
  @IsOptional()
  @IsUrl(
    { protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true },
    { message: 'must be a redis:// or rediss:// URL' },
  )
  readonly redis: string | undefined = undefined;

  /**
   * Redis through Sentinel (--redis-sentinel host:port,... with --redis-name): instead of --redis, the
   * backend asks the sentinels for the primary and follows a failover to the promoted replica.
   */
  @IsArray()
  @Matches(/^[^\s:/]+:\d{1,5}$/, { each: true, message: 'each must be host:port' })
  readonly redisSentinels: readonly string[] = [];

  /** The name the sentinels monitor the primary under (their `sentinel monitor NAME ...`). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'must be 1-64 characters of A-Z a-z 0-9 . _ -' })
  readonly redisName: string | undefined = undefined;

  /** Where the backend's shared Redis is: --redis, or the sentinels and the name; undefined: in memory. */
  get redisTarget(): RedisTarget | undefined {
    if (this.redisSentinels.length > 0 && this.redisName) {
      const sentinels = this.redisSentinels.map((entry) => {
        const at = entry.lastIndexOf(':');
        return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
      });
      return { sentinels, name: this.redisName };
    }
    return this.redis;
  }

  /**
   * LiveKit's own multi-node cluster (nodes sharing this Redis behind one --url): the backend reads
   * LiveKit's node registry from it (`nodes`, `room_node_map`) and probes each node at its own address.
   * Unset: every --url is an independent node. May name the same Redis as --redis.
   */
  @IsOptional()
  @IsUrl(
    { protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true },
    { message: 'must be a redis:// or rediss:// URL' },
  )
  readonly livekitRedis: string | undefined = undefined;

  /** Cluster mode: each LiveKit node's signal port at its own IP, where it is probed (LiveKit's default: 7880). */
  @IsInt({ message: 'must be a port number, 1-65535' })
  @Min(1, { message: 'must be a port number, 1-65535' })
  @Max(65_535, { message: 'must be a port number, 1-65535' })
  readonly nodePort: number = DEFAULT_NODE_PORT;

  /** The embedded cluster as LiveKit's own multi-node cluster (--livekit-cluster, with --media livekit). */
  @IsBoolean()
  readonly livekitCluster: boolean = false;

  /**
   * Web origins (scheme://host[:port]) whose pages may call the API from a browser. Empty (the
   * default): only the app's own pages, served by this backend.
   */
  @IsArray()
  @IsString({ each: true })
  readonly corsOrigins: readonly string[] = [];

  /**
   * Bearer token for the operators' endpoints (/api/sessions, /api/nodes, /api/info, /metrics, the
   * dev tools). Unset: outside dev mode those are not served at all.
   */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: "must be at least 16 characters (it guards every session's name and participants)" })
  readonly adminToken: string | undefined = undefined;

  /**
   * HS256 secret shared with the developer's own app: when set, joins and get-token need a JWT it signed
   * (who may join which sessions, under which name, with which room settings). Unset: anyone with the link.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters (an HS256 key)' })
  readonly authSecret: string | undefined = undefined;

  /** The longest a join token may live, in seconds (a token signed for 100 years is refused); 0 = no maximum. */
  @IsInt({ message: 'must be a number of seconds >= 0 (0: no maximum)' })
  @Min(0, { message: 'must be a number of seconds >= 0 (0: no maximum)' })
  readonly authMaxAge: number = DEFAULT_AUTH_MAX_AGE_SECONDS;

  /**
   * Requests per client address per minute, for each of join, rejoin and get-token, and socket
   * handshakes; over it: 429 with Retry-After (a refused handshake). 0 = no limit.
   */
  @IsInt({ message: 'must be an integer >= 0 (0: no limit)' })
  @Min(0, { message: 'must be an integer >= 0 (0: no limit)' })
  readonly rateLimit: number = DEFAULT_RATE_LIMIT;

  /** Open sockets per client address on this instance; 0 = no limit. */
  @IsInt({ message: 'must be an integer >= 0 (0: no limit)' })
  @Min(0, { message: 'must be an integer >= 0 (0: no limit)' })
  readonly maxSocketsPerAddress: number = DEFAULT_MAX_SOCKETS_PER_ADDRESS;

  /** Per session, joins nobody has seen connect yet (DEFAULT_MAX_UNCONFIRMED_INVITES); 0 = no cap. */
  @IsInt({ message: 'must be an integer >= 0 (0: no cap)' })
  @Min(0, { message: 'must be an integer >= 0 (0: no cap)' })
  readonly maxUnconfirmedInvites: number = DEFAULT_MAX_UNCONFIRMED_INVITES;

  /** Sessions one media node may hold (placement and rebuilds skip a fuller node); 0 = no limit. */
  @IsInt({ message: 'must be an integer >= 0 (0: no limit)' })
  @Min(0, { message: 'must be an integer >= 0 (0: no limit)' })
  readonly maxSessionsPerNode: number = DEFAULT_MAX_SESSIONS_PER_NODE;

  /** The most participants a session may have, whatever its room settings ask; 0 = no cap. */
  @IsInt({ message: 'must be an integer between 0 and 1000 (0: no cap)' })
  @Min(0, { message: 'must be an integer between 0 and 1000 (0: no cap)' })
  @Max(1000, { message: 'must be an integer between 0 and 1000 (0: no cap)' })
  readonly maxParticipants: number = DEFAULT_MAX_PARTICIPANTS;

  /**
   * Proxies whose X-Forwarded-For is believed, in Express's `trust proxy` words: `loopback` (a balancer
   * on this machine, the default), addresses or subnets (comma-separated on the command line). Limits
   * count per that address, for HTTP and sockets alike.
   */
  @IsArray()
  @ArrayNotEmpty({ message: TRUST_PROXY_RULE })
  @Matches(/^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:/]+)$/, { each: true, message: TRUST_PROXY_RULE })
  readonly trustProxy: readonly string[] = ['loopback'];

  /** Dev mode asked for explicitly (--dev): see `devMode`. */
  @IsBoolean()
  readonly dev: boolean = false;

  /**
   * Dev mode: an embedded cluster (either engine), or --dev (npm run cluster sets it on the instances it starts).
   * Operators' endpoints are then open without a token unless one is set, and the crash buttons exist.
   */
  get clusterMode(): boolean {
    return this.livekitRedis !== undefined;
  }

  get devMode(): boolean {
    return this.embeddedCluster || this.dev;
  }

  /** A frozen copy with the URLs and port the start-up settled on. */
  resolved(changes: { urls?: readonly string[]; port?: number; livekitRedis?: string }): AppConfig {
    return Object.freeze(Object.assign(new AppConfig(), this, changes));
  }

  /** For logs: everything but the secret. */
  describe(): string {
    const engine = this.media === 'livekit' ? 'real LiveKit server' : 'dev cluster';
    const nodes = this.embeddedCluster ? `embedded ${engine} (${this.devNodes} nodes)` : `${this.urls.length} node(s)`;
    const mode = this.clusterMode
      ? `${nodes}, LiveKit's own cluster (registry in ${redactUrl(this.livekitRedis ?? '')}, nodes probed on port ${this.nodePort})`
      : nodes;
    const target = this.redisTarget;
    const store = target ? `sessions in Redis at ${describeRedisTarget(target)}` : 'sessions in memory';
    const operators = this.adminToken
      ? 'operator endpoints need the admin token'
      : this.devMode
        ? 'operator endpoints open (dev mode)'
        : 'operator endpoints off (no --admin-token)';
    const joins = this.authSecret ? 'joins need a token from your app' : 'anyone with the link may join';
    return `${mode}, api key ${this.apiKey}, port ${this.port}, ${store}, ${operators}, ${joins}`;
  }
}
