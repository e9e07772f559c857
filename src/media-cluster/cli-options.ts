import { parseFlags, type FlagSpec } from '../shared/cli-flags';
import type { MediaClusterOptions, MediaEngine, MediaTopology } from './api';
import { DEFAULT_NODE_PORT } from './engines/livekit/livekit-cluster';
import { DEFAULT_EMPTY_TIMEOUT_SEC, validateMediaClusterOptions } from './start-media-cluster';

/** `livekit-server --dev` credentials, so any LiveKit tutorial works against the cluster as is. */
export const DEV_API_KEY = 'devkey';
export const DEV_API_SECRET = 'secret';
export const DEFAULT_NODES = 2;
/** LiveKit's port; nodes take consecutive ones. */
export const DEFAULT_BASE_PORT = 7880;

export const USAGE = `Usage: npm run dev-cluster -- [options]

  --nodes N            media node processes (default ${DEFAULT_NODES})
  --port P             first node's port, the others follow (default ${DEFAULT_BASE_PORT}; 0 = any free range);
                       with --topology cluster: the port of the cluster's one URL (nginx)
  --api-key KEY        (env LIVEKIT_API_KEY, default "${DEV_API_KEY}")
  --secret SECRET      (env LIVEKIT_API_SECRET, default "${DEV_API_SECRET}")
  --webhook URL        where nodes POST signed webhooks (also --webhook-url)
  --empty-timeout SEC  seconds an empty room lives (default ${DEFAULT_EMPTY_TIMEOUT_SEC})
  --engine dev|livekit the embedded nodes (default) or the real LiveKit server (npm run livekit:install first)
  --topology independent|cluster
                       independent nodes, one URL each (default), or LiveKit's own multi-node cluster
                       (--engine livekit only): nodes sharing a Redis, each on its own 127.0.0.x
                       address (added to lo: needs root), nginx in front as the one URL
  --node-port P        cluster: the signal port of every node at its own address (default ${DEFAULT_NODE_PORT}; UDP P+2)
  --livekit-redis URL  cluster: a Redis for the nodes to share (default: a redis-server of its own)
  --quiet              do not print the nodes' own log lines
  --help`;

export interface CliOptions {
  cluster: Omit<MediaClusterOptions, 'onLog'>;
  engine: MediaEngine;
  quiet: boolean;
  /** Whether the secret is the public dev default (then it may be printed). */
  defaultSecret: boolean;
}

export type CliParse = { kind: 'run'; options: CliOptions } | { kind: 'help' } | { kind: 'error'; problems: string[] };

const FLAGS = {
  nodes: { type: 'string' },
  port: { type: 'string' },
  'api-key': { type: 'string' },
  secret: { type: 'string' },
  webhook: { type: 'string' },
  'webhook-url': { type: 'string' },
  'empty-timeout': { type: 'string' },
  engine: { type: 'string' },
  topology: { type: 'string' },
  'node-port': { type: 'string' },
  'livekit-redis': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies FlagSpec;
type ValueFlag = `--${Exclude<keyof typeof FLAGS, 'quiet' | 'help'>}`;

/** Reads argv (after `--`) and the environment; every bad value is reported, not just the first. */
export function parseCliOptions(argv: string[], env: NodeJS.ProcessEnv): CliParse {
  if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help' };
  const parsed = parseFlags(argv, FLAGS);
  const problems = parsed.problems;
  const quiet = parsed.values.quiet === true;
  const values = new Map<ValueFlag, string>(
    Object.entries(parsed.values).flatMap(([name, value]) =>
      typeof value === 'string' && value !== '' ? [[`--${name}` as ValueFlag, value]] : [],
    ),
  );

  const number = (flag: ValueFlag, fallback: number): number => {
    const raw = values.get(flag);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(parsed)) {
      problems.push(`${flag} must be a number (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return parsed;
  };
  const secret = values.get('--secret') ?? env.LIVEKIT_API_SECRET;
  const nodePort = values.has('--node-port') ? number('--node-port', DEFAULT_NODE_PORT) : undefined;
  const cluster: CliOptions['cluster'] = {
    nodes: number('--nodes', DEFAULT_NODES),
    basePort: number('--port', DEFAULT_BASE_PORT),
    apiKey: values.get('--api-key') ?? env.LIVEKIT_API_KEY ?? DEV_API_KEY,
    apiSecret: secret ?? DEV_API_SECRET,
    webhookUrl: values.get('--webhook') ?? values.get('--webhook-url'),
    emptyTimeoutSec: number('--empty-timeout', DEFAULT_EMPTY_TIMEOUT_SEC),
    topology: (values.get('--topology') ?? 'independent') as MediaTopology,
    ...(nodePort !== undefined && { nodePort }),
    ...(values.has('--livekit-redis') && { livekitRedisUrl: values.get('--livekit-redis') }),
  };
  const engine = values.get('--engine') ?? 'dev';
  if (engine !== 'dev' && engine !== 'livekit')
    problems.push(`--engine must be dev or livekit (got ${JSON.stringify(engine)})`);
  problems.push(
    ...validateMediaClusterOptions(engine as MediaEngine, cluster, {
      engine: '--engine',
      nodes: '--nodes',
      basePort: '--port',
      apiKey: '--api-key',
      apiSecret: '--secret',
      webhookUrl: '--webhook',
      emptyTimeoutSec: '--empty-timeout',
      topology: '--topology',
      nodePort: '--node-port',
      livekitRedisUrl: '--livekit-redis',
    }),
  );
  if (problems.length > 0) return { kind: 'error', problems };
  return {
    kind: 'run',
    options: { cluster, engine: engine as MediaEngine, quiet, defaultSecret: secret === undefined },
  };
}
