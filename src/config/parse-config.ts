import { randomBytes } from 'node:crypto';
import { isURL, validateSync } from 'class-validator';
import { parseFlags, type FlagSpec } from '../shared/cli-flags';
import {
  AppConfig,
  DEFAULT_AUTH_MAX_AGE_SECONDS,
  DEFAULT_DEV_BASE_PORT,
  DEFAULT_DEV_NODES,
  DEFAULT_MAX_PARTICIPANTS,
  DEFAULT_MAX_SESSIONS_PER_NODE,
  DEFAULT_MAX_SOCKETS_PER_ADDRESS,
  DEFAULT_MAX_UNCONFIRMED_INVITES,
  DEFAULT_NODE_PORT,
  DEFAULT_PORT,
  DEFAULT_RATE_LIMIT,
} from './app-config';
import { redactUrl } from './redis-target';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** How each config field is spelled on the command line and in the environment, for error messages. */
const SOURCES: Record<string, string> = {
  urls: '--url / LIVEKIT_URL',
  apiKey: '--api-key / LIVEKIT_API_KEY',
  apiSecret: '--secret / LIVEKIT_API_SECRET',
  port: '--port / PORT',
  host: '--host / HOST',
  devNodes: '--dev-nodes',
  devBasePort: '--dev-base-port',
  nodeCapacity: '--node-capacity / NODE_CAPACITY',
  media: '--media',
  redis: '--redis / REDIS_URL',
  redisSentinels: '--redis-sentinel / REDIS_SENTINELS',
  redisName: '--redis-name / REDIS_NAME',
  livekitRedis: '--livekit-redis / LIVEKIT_REDIS_URL',
  nodePort: '--node-port / NODE_PORT',
  livekitCluster: '--livekit-cluster',
  corsOrigins: '--cors-origin / CORS_ORIGIN',
  adminToken: '--admin-token / ADMIN_TOKEN',
  authSecret: '--auth-secret / AUTH_SECRET',
  authMaxAge: '--auth-max-age / AUTH_MAX_AGE',
  rateLimit: '--rate-limit / RATE_LIMIT',
  maxSocketsPerAddress: '--max-sockets-per-address / MAX_SOCKETS_PER_ADDRESS',
  maxParticipants: '--max-participants / MAX_PARTICIPANTS',
  maxSessionsPerNode: '--max-sessions-per-node / MAX_SESSIONS_PER_NODE',
  maxUnconfirmedInvites: '--max-unconfirmed-invites / MAX_UNCONFIRMED_INVITES',
  trustProxy: '--trust-proxy / TRUST_PROXY',
};

const FLAGS = {
  url: { type: 'string', multiple: true },
  'api-key': { type: 'string' },
  secret: { type: 'string' },
  'api-secret': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'dev-nodes': { type: 'string' },
  'dev-base-port': { type: 'string' },
  'node-capacity': { type: 'string' },
  media: { type: 'string' },
  redis: { type: 'string' },
  'redis-sentinel': { type: 'string', multiple: true },
  'redis-name': { type: 'string' },
  'livekit-redis': { type: 'string' },
  'node-port': { type: 'string' },
  'livekit-cluster': { type: 'boolean' },
  'cors-origin': { type: 'string', multiple: true },
  'admin-token': { type: 'string' },
  'auth-secret': { type: 'string' },
  'auth-max-age': { type: 'string' },
  'rate-limit': { type: 'string' },
  'max-sockets-per-address': { type: 'string' },
  'max-participants': { type: 'string' },
  'max-sessions-per-node': { type: 'string' },
  'max-unconfirmed-invites': { type: 'string' },
  'trust-proxy': { type: 'string' },
  dev: { type: 'boolean' },
} satisfies FlagSpec;

export const USAGE = `usage: node dist/src/main.js [--url ws://HOST:PORT ...] [--api-key KEY --secret SECRET] [--port 5000] [--host 127.0.0.1] [--node-capacity N]
       with no --url, an embedded cluster is started: [--dev-nodes 2] [--dev-base-port 7880]
       [--media dev|livekit] (livekit: the real LiveKit server, after npm run livekit:install)
       [--redis redis://HOST:PORT] (several instances share sessions through Redis)
       [--redis-sentinel HOST:PORT,... --redis-name NAME] (that Redis through Sentinel, instead of --redis: a failover is followed)
       [--livekit-redis redis://HOST:PORT --node-port 7880] (LiveKit's own cluster behind one --url: its node registry in that Redis)
       [--livekit-cluster] (with --media livekit: the embedded nodes as LiveKit's own cluster, sharing a Redis behind one URL)
       [--cors-origin https://app.example.com ...] (other web origins allowed to call the API; default: none)
       [--admin-token TOKEN] (bearer token for the operators' endpoints: /api/sessions, /api/nodes, /api/info, /metrics)
       [--auth-secret S] (joins and get-token need a JWT (HS256) signed with S by your app: claims sessions, name?, room?)
       [--auth-max-age 86400] (seconds a join token may live, exp - iat; 0: no maximum)
       [--rate-limit 60] (joins, rejoins, leaves, get-tokens and socket handshakes per client address per minute, each; 0: off)
       [--max-sockets-per-address 32] [--max-participants 100] (per session; 0: no cap) [--max-sessions-per-node 500]
       [--max-unconfirmed-invites 100] (per session: joins nobody has seen connect yet; over it a join answers 429; 0: no cap)
       [--trust-proxy loopback] (proxies whose X-Forwarded-For names the client: addresses, subnets, or loopback)
       [--dev] (dev mode on purpose: the embedded cluster on a non-loopback --host, dev tools with --url)
env:   LIVEKIT_URL (comma-separated), LIVEKIT_API_KEY, LIVEKIT_API_SECRET, PORT, HOST, NODE_CAPACITY, REDIS_URL, REDIS_SENTINELS (comma-separated), REDIS_NAME, LIVEKIT_REDIS_URL, NODE_PORT, CORS_ORIGIN (comma-separated), ADMIN_TOKEN, AUTH_SECRET, AUTH_MAX_AGE, RATE_LIMIT, MAX_SOCKETS_PER_ADDRESS, MAX_PARTICIPANTS, MAX_SESSIONS_PER_NODE, MAX_UNCONFIRMED_INVITES, TRUST_PROXY, DEV_MODE=1`;

/** Comma-separated values, trimmed, empty ones dropped. */
function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function toInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  return /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
}

/**
 * Flags win over env. Every problem is collected before failing, so one run names every bad value.
 * The secret's value is never part of a message.
 */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): AppConfig {
  const { values, problems } = parseFlags(argv, FLAGS);
  const flag = (name: keyof typeof FLAGS) => (typeof values[name] === 'string' ? values[name] : undefined);

  const flagUrls = ((values.url as string[] | undefined) ?? []).flatMap(splitList);
  const urls = flagUrls.length > 0 ? flagUrls : splitList(env.LIVEKIT_URL ?? '');
  const embeddedCluster = urls.length === 0;
  const draft = {
    urls,
    embeddedCluster,
    apiKey: flag('api-key') ?? env.LIVEKIT_API_KEY ?? '',
    apiSecret: flag('secret') ?? flag('api-secret') ?? env.LIVEKIT_API_SECRET ?? '',
    port: toInt(flag('port') ?? env.PORT, DEFAULT_PORT),
    host: flag('host') ?? env.HOST ?? '127.0.0.1',
    devNodes: toInt(flag('dev-nodes'), DEFAULT_DEV_NODES),
    devBasePort: toInt(flag('dev-base-port'), DEFAULT_DEV_BASE_PORT),
    nodeCapacity: toInt(flag('node-capacity') ?? env.NODE_CAPACITY, 0),
    media: (flag('media') ?? 'dev') as 'dev' | 'livekit',
    redis: flag('redis') ?? (env.REDIS_URL || undefined),
    redisSentinels:
      (values['redis-sentinel'] as string[] | undefined)?.flatMap(splitList) ?? splitList(env.REDIS_SENTINELS ?? ''),
    redisName: flag('redis-name') ?? (env.REDIS_NAME || undefined),
    livekitRedis: flag('livekit-redis') ?? (env.LIVEKIT_REDIS_URL || undefined),
    nodePort: toInt(flag('node-port') ?? env.NODE_PORT, DEFAULT_NODE_PORT),
    livekitCluster: values['livekit-cluster'] === true,
    corsOrigins: corsOrigins(values['cors-origin'] as string[] | undefined, env.CORS_ORIGIN),
    adminToken: flag('admin-token') ?? (env.ADMIN_TOKEN || undefined),
    authSecret: flag('auth-secret') ?? (env.AUTH_SECRET || undefined),
    authMaxAge: toInt(flag('auth-max-age') ?? env.AUTH_MAX_AGE, DEFAULT_AUTH_MAX_AGE_SECONDS),
    rateLimit: toInt(flag('rate-limit') ?? env.RATE_LIMIT, DEFAULT_RATE_LIMIT),
    maxSocketsPerAddress: toInt(
      flag('max-sockets-per-address') ?? env.MAX_SOCKETS_PER_ADDRESS,
      DEFAULT_MAX_SOCKETS_PER_ADDRESS,
    ),
    maxParticipants: toInt(flag('max-participants') ?? env.MAX_PARTICIPANTS, DEFAULT_MAX_PARTICIPANTS),
    maxSessionsPerNode: toInt(
      flag('max-sessions-per-node') ?? env.MAX_SESSIONS_PER_NODE,
      DEFAULT_MAX_SESSIONS_PER_NODE,
    ),
    maxUnconfirmedInvites: toInt(
      flag('max-unconfirmed-invites') ?? env.MAX_UNCONFIRMED_INVITES,
      DEFAULT_MAX_UNCONFIRMED_INVITES,
    ),
    trustProxy: splitList(flag('trust-proxy') ?? (env.TRUST_PROXY || 'loopback')),
    dev: values.dev === true || env.DEV_MODE === '1' || env.DEV_MODE === 'true',
  };
  if (!embeddedCluster && flag('media') !== undefined)
    problems.push(`${SOURCES.media}: chooses the embedded cluster's engine; with --url the nodes are yours`);
  if (urls.length !== new Set(urls).size) problems.push(`${SOURCES.urls}: the same URL is given twice`);
  // Sentinel needs both halves: where the sentinels are, and which primary of theirs is ours.
  if (draft.redisSentinels.length > 0 && draft.redisName === undefined)
    problems.push(
      `${SOURCES.redisSentinels}: needs ${SOURCES.redisName}, the name the sentinels monitor the primary under`,
    );
  if (draft.redisName !== undefined && draft.redisSentinels.length === 0)
    problems.push(`${SOURCES.redisName}: needs ${SOURCES.redisSentinels}, the sentinels to ask for that primary`);
  if (draft.redisSentinels.length > 0 && draft.redis !== undefined)
    problems.push(`${SOURCES.redisSentinels}: replaces ${SOURCES.redis}; give one of them`);
  // LiveKit's own cluster is one URL in front of nodes that share a Redis: the registry there names them.
  if (draft.livekitRedis !== undefined && urls.length !== 1) {
    problems.push(
      urls.length === 0
        ? `${SOURCES.livekitRedis}: needs the cluster's client URL as the one --url (for the embedded one: --media livekit --livekit-cluster)`
        : `${SOURCES.livekitRedis}: needs exactly one --url, the cluster's client URL (got ${urls.length}); independent nodes need no --livekit-redis`,
    );
  }
  if (draft.livekitCluster && !(embeddedCluster && draft.media === 'livekit')) {
    problems.push(
      `${SOURCES.livekitCluster}: runs the embedded nodes as LiveKit's own cluster; it needs --media livekit and no --url`,
    );
  }
  // Node i listens on devBasePort + i: a range past 65535 would otherwise end in a RangeError stack at start-up.
  const lastDevPort = draft.devBasePort + draft.devNodes - 1;
  if (embeddedCluster && draft.devBasePort > 0 && lastDevPort > 65_535) {
    problems.push(
      `${SOURCES.devBasePort}: ${draft.devNodes} nodes from port ${draft.devBasePort} would need port ${lastDevPort}; the last must be at most 65535`,
    );
  }
  if (embeddedCluster && !draft.dev && !isLoopbackHost(draft.host)) {
    problems.push(
      `${SOURCES.host}: the embedded dev cluster (default keys, crash buttons, no access control) serves only on loopback, not on ${JSON.stringify(draft.host)}; ` +
        'give your media nodes with --url (and an --api-key / --secret), or pass --dev to expose the dev cluster on purpose',
    );
  }
  if (embeddedCluster) {
    // The embedded cluster is ours: a random key pair per run unless one is given.
    if (!draft.apiKey) draft.apiKey = `dev-${randomBytes(4).toString('hex')}`;
    if (!draft.apiSecret) draft.apiSecret = randomBytes(32).toString('base64url');
  }

  const config = Object.assign(new AppConfig(), draft);
  const raw: Record<string, unknown> = {
    port: flag('port') ?? env.PORT,
    devNodes: flag('dev-nodes'),
    devBasePort: flag('dev-base-port'),
    nodeCapacity: flag('node-capacity') ?? env.NODE_CAPACITY,
    authMaxAge: flag('auth-max-age') ?? env.AUTH_MAX_AGE,
    rateLimit: flag('rate-limit') ?? env.RATE_LIMIT,
    maxSocketsPerAddress: flag('max-sockets-per-address') ?? env.MAX_SOCKETS_PER_ADDRESS,
    maxParticipants: flag('max-participants') ?? env.MAX_PARTICIPANTS,
    maxSessionsPerNode: flag('max-sessions-per-node') ?? env.MAX_SESSIONS_PER_NODE,
    maxUnconfirmedInvites: flag('max-unconfirmed-invites') ?? env.MAX_UNCONFIRMED_INVITES,
    nodePort: flag('node-port') ?? env.NODE_PORT,
    trustProxy: flag('trust-proxy') ?? env.TRUST_PROXY,
    urls: urls.filter((url) => !validUrl(url)),
  };
  const badOrigins = draft.corsOrigins.filter((origin) => !validOrigin(origin));
  if (badOrigins.length > 0)
    problems.push(
      `${SOURCES.corsOrigins}: each must be an origin, http(s)://host[:port] with no path (got ${JSON.stringify(badOrigins)})`,
    );
  for (const error of validateSync(config)) {
    const source = SOURCES[error.property] ?? error.property;
    const value: unknown =
      (error.property === 'redis' || error.property === 'livekitRedis') && typeof error.value === 'string'
        ? redactUrl(error.value)
        : (raw[error.property] ?? error.value);
    const shown =
      ['apiSecret', 'adminToken', 'authSecret'].includes(error.property) || value === ''
        ? ''
        : ` (got ${JSON.stringify(value)})`;
    problems.push(`${source}: ${[...new Set(Object.values(error.constraints ?? {}))].join(', ')}${shown}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Flags win over env; each a bare origin (a trailing slash is forgiven, a path is not). */
function corsOrigins(flags: string[] | undefined, env: string | undefined): string[] {
  const given = flags && flags.length > 0 ? flags.flatMap(splitList) : splitList(env ?? '');
  return given.map((origin) => origin.replace(/\/$/, ''));
}

function validOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin;
  } catch {
    return false;
  }
}

function validUrl(url: string): boolean {
  return isURL(url, { protocols: ['ws', 'wss'], require_tld: false, require_protocol: true });
}
