import { parseArgs } from 'node:util';

export interface WorkerOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  /** Explicit dispatch only: a room gets this agent when its configuration names it. */
  agentName: string;
  /** Job processes kept started, ready for the next job. */
  idleProcesses: number;
  /** The SDK's health endpoint (GET /); 0 picks a free port, so several workers share a host. */
  healthPort: number;
  logLevel: string;
  /**
   * LiveKit's own cluster: the Redis its nodes share. The worker then registers with every member it
   * finds there (at `ws://<ip>:<nodePort>`), and its jobs connect through `url`, the cluster's.
   */
  livekitRedis?: string;
  /** The signal port each member listens on at its own address (LiveKit's default 7880). */
  nodePort: number;
}

/**
 * Per registration. A job takes a warm process and agents-js starts its replacement at once, which
 * takes 2-5 s to import @livekit/agents on a loaded 2-core machine: with one, a room that came back
 * to a member within that time waited for it (bench:agents, LiveKit's cluster: 1.3 s, kill -> job 1.9 s).
 * Each idle process holds ~160 MB.
 */
const DEFAULT_IDLE_PROCESSES = 2;
const DEFAULT_NODE_PORT = 7880;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
/** The agent name goes into LiveKit's dispatch and the agent's identity: kept to a short, safe set. */
const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Flags over env; every bad or missing value named at once. */
export function parseWorkerOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { options: WorkerOptions } | { problems: string[] } {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        'api-secret': { type: 'string' },
        'agent-name': { type: 'string' },
        'idle-processes': { type: 'string' },
        'health-port': { type: 'string' },
        'log-level': { type: 'string' },
        'livekit-redis': { type: 'string' },
        'node-port': { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    return { problems: [error instanceof Error ? error.message : String(error)] };
  }
  const problems: string[] = [];
  const url = values.url ?? env.LIVEKIT_URL ?? '';
  const apiKey = values['api-key'] ?? env.LIVEKIT_API_KEY ?? '';
  const apiSecret = values['api-secret'] ?? env.LIVEKIT_API_SECRET ?? '';
  const agentName = values['agent-name'] ?? env.LIVEKIT_AGENT_NAME ?? '';
  const logLevel = values['log-level'] ?? 'info';
  const livekitRedis = values['livekit-redis'] ?? (env.LIVEKIT_REDIS_URL || undefined);
  if (!/^wss?:\/\/[^/?#\s]+\/?$/.test(url))
    problems.push(`--url (or LIVEKIT_URL) must be a ws:// or wss:// URL with no path (got ${JSON.stringify(url)})`);
  if (!apiKey) problems.push('--api-key (or LIVEKIT_API_KEY) is required');
  if (!apiSecret) problems.push('--api-secret (or LIVEKIT_API_SECRET) is required');
  if (!AGENT_NAME_PATTERN.test(agentName))
    problems.push(
      `--agent-name (or LIVEKIT_AGENT_NAME) must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit (got ${JSON.stringify(agentName)})`,
    );
  const idleProcesses = integer(values['idle-processes'], DEFAULT_IDLE_PROCESSES, 1, 16, '--idle-processes', problems);
  const healthPort = integer(values['health-port'], 0, 0, 65535, '--health-port', problems);
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const nodePort = integer(values['node-port'] ?? env.NODE_PORT, DEFAULT_NODE_PORT, 1, 65535, '--node-port', problems);
  if (livekitRedis !== undefined) {
    if (!/^rediss?:\/\/[^/?#\s]+/.test(livekitRedis))
      problems.push('--livekit-redis (or LIVEKIT_REDIS_URL) must be a redis:// or rediss:// URL');
    // One health endpoint per registration: a fixed port would be taken twice.
    if (healthPort !== 0) problems.push('--health-port applies to one registration: with --livekit-redis leave it out');
  } else if (values['node-port'] !== undefined) problems.push('--node-port applies with --livekit-redis only');
  if (problems.length > 0) return { problems };
  return {
    options: { url, apiKey, apiSecret, agentName, idleProcesses, healthPort, logLevel, livekitRedis, nodePort },
  };
}

function integer(
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
  problems: string[],
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return value;
}
