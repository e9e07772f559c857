import { randomBytes } from 'node:crypto';
import { isURL, validateSync } from 'class-validator';
import { AppConfig } from './app-config';

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
};

const FLAGS: Record<string, { key: string; repeatable?: boolean }> = {
  '--url': { key: 'url', repeatable: true },
  '--api-key': { key: 'apiKey' },
  '--secret': { key: 'apiSecret' },
  '--api-secret': { key: 'apiSecret' },
  '--port': { key: 'port' },
  '--host': { key: 'host' },
  '--dev-nodes': { key: 'devNodes' },
  '--dev-base-port': { key: 'devBasePort' },
};

export const USAGE = `usage: node dist/src/main.js [--url ws://HOST:PORT ...] [--api-key KEY --secret SECRET] [--port 5000] [--host 127.0.0.1]
       with no --url, an embedded dev cluster is started: [--dev-nodes 2] [--dev-base-port 7880]
env:   LIVEKIT_URL (comma-separated), LIVEKIT_API_KEY, LIVEKIT_API_SECRET, PORT, HOST`;

// DESIGN.md's --redis (several instances sharing sessions) is a later piece of work: refusing it beats
// silently running an instance whose sessions others cannot see.
const REDIS_NOT_BUILT =
  '--redis / REDIS_URL: a shared Redis store is not built yet; run a single instance without it (state is kept in memory)';

function splitUrls(value: string): string[] {
  return value
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
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
  const problems: string[] = [];
  const flags: Record<string, string | undefined> = {};
  const flagUrls: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[name];
    if (name === '--redis') {
      problems.push(REDIS_NOT_BUILT);
      if (eq < 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++;
      continue;
    }
    if (!spec) {
      problems.push(`unknown argument "${arg}"`);
      continue;
    }
    let value: string | undefined;
    if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
    if (value === undefined || value === '') {
      problems.push(`${name} needs a value`);
      continue;
    }
    if (spec.repeatable) flagUrls.push(...splitUrls(value));
    else flags[spec.key] = value;
  }

  if (env.REDIS_URL && !problems.includes(REDIS_NOT_BUILT)) problems.push(REDIS_NOT_BUILT);
  const config = new AppConfig();
  config.urls = flagUrls.length > 0 ? flagUrls : splitUrls(env.LIVEKIT_URL ?? '');
  config.devCluster = config.urls.length === 0;
  config.apiKey = flags.apiKey ?? env.LIVEKIT_API_KEY ?? '';
  config.apiSecret = flags.apiSecret ?? env.LIVEKIT_API_SECRET ?? '';
  config.port = toInt(flags.port ?? env.PORT, config.port);
  config.host = flags.host ?? env.HOST ?? config.host;
  config.devNodes = toInt(flags.devNodes, config.devNodes);
  config.devBasePort = toInt(flags.devBasePort, config.devBasePort);
  if (config.urls.length !== new Set(config.urls).size) problems.push(`${SOURCES.urls}: the same URL is given twice`);
  // Node i listens on devBasePort + i: a range past 65535 would otherwise end in a RangeError stack at start-up.
  const lastDevPort = config.devBasePort + config.devNodes - 1;
  if (config.devCluster && config.devBasePort > 0 && lastDevPort > 65_535) {
    problems.push(`${SOURCES.devBasePort}: ${config.devNodes} nodes from port ${config.devBasePort} would need port ${lastDevPort}; the last must be at most 65535`);
  }

  if (config.devCluster) {
    // The embedded cluster is ours: a random key pair per run unless one is given.
    if (!config.apiKey) config.apiKey = `dev-${randomBytes(4).toString('hex')}`;
    if (!config.apiSecret) config.apiSecret = randomBytes(32).toString('base64url');
  }

  const raw: Record<string, unknown> = {
    port: flags.port ?? env.PORT,
    devNodes: flags.devNodes,
    devBasePort: flags.devBasePort,
    urls: config.urls.filter((url) => !validUrl(url)),
  };
  for (const error of validateSync(config)) {
    const source = SOURCES[error.property] ?? error.property;
    const value = raw[error.property] ?? error.value;
    const shown = error.property === 'apiSecret' || value === '' ? '' : ` (got ${JSON.stringify(value)})`;
    problems.push(`${source}: ${[...new Set(Object.values(error.constraints ?? {}))].join(', ')}${shown}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function validUrl(url: string): boolean {
  return isURL(url, { protocols: ['ws', 'wss'], require_tld: false, require_protocol: true });
}
