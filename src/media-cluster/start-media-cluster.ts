import type { LiveKitCluster, MediaCluster, MediaClusterOptions, MediaEngine } from './api';
import type { EngineDriver } from './engine-driver';
import { DEV_ENGINE } from './engines/dev/dev-engine';
import { DEFAULT_NODE_PORT, startLiveKitCluster } from './engines/livekit/livekit-cluster';
import { LIVEKIT_ENGINE } from './engines/livekit/livekit-engine';
import { LOOPBACK_HOST, NodeStartError } from './node-process';
import { ProcessPool } from './process-pool';
import { findFreePortRange } from '../shared/ports';

/** LiveKit's own default for rooms nobody joins. */
export const DEFAULT_EMPTY_TIMEOUT_SEC = 300;
export const MAX_NODES = 32;
/** With basePort 0, how many port ranges to try when another process grabs a port first. */
const PORT_RANGE_ATTEMPTS = 3;

const ENGINES: Record<MediaEngine, EngineDriver> = { dev: DEV_ENGINE, livekit: LIVEKIT_ENGINE };

export type OptionNames = Record<
  | 'engine'
  | 'nodes'
  | 'basePort'
  | 'apiKey'
  | 'apiSecret'
  | 'webhookUrl'
  | 'emptyTimeoutSec'
  | 'topology'
  | 'nodePort'
  | 'livekitRedisUrl',
  string
>;
const OPTION_NAMES: OptionNames = {
  engine: 'engine',
  nodes: 'nodes',
  basePort: 'basePort',
  apiKey: 'apiKey',
  apiSecret: 'apiSecret',
  webhookUrl: 'webhookUrl',
  emptyTimeoutSec: 'emptyTimeoutSec',
  topology: 'topology',
  nodePort: 'nodePort',
  livekitRedisUrl: 'livekitRedisUrl',
};

/** Every problem with `options` for `engine`, each naming the option as the caller knows it (`names`). */
export function validateMediaClusterOptions(
  engine: MediaEngine,
  options: MediaClusterOptions,
  names: OptionNames = OPTION_NAMES,
): string[] {
  const problems: string[] = [];
  const { nodes, basePort = 0, apiKey, apiSecret, webhookUrl, emptyTimeoutSec } = options;
  const { topology = 'independent', nodePort, livekitRedisUrl } = options;
  const nodeCount = Number.isInteger(nodes) && nodes >= 1 && nodes <= MAX_NODES ? nodes : undefined;
  if (nodeCount === undefined)
    problems.push(`${names.nodes} must be an integer from 1 to ${MAX_NODES} (got ${String(nodes)})`);
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + (nodeCount ?? 1) - 1 > 65_535) {
    problems.push(`${names.basePort} must be 0 or a port that leaves room for every node (got ${String(basePort)})`);
  }
  if (typeof apiKey !== 'string' || apiKey.trim() === '') problems.push(`${names.apiKey} must not be empty`);
  if (typeof apiSecret !== 'string' || apiSecret === '') problems.push(`${names.apiSecret} must not be empty`);
  if (webhookUrl !== undefined && !isHttpUrl(webhookUrl)) {
    problems.push(`${names.webhookUrl} must be an http(s) URL (got ${JSON.stringify(webhookUrl)})`);
  }
  if (emptyTimeoutSec !== undefined && !(Number.isFinite(emptyTimeoutSec) && emptyTimeoutSec >= 0)) {
    problems.push(`${names.emptyTimeoutSec} must be a number >= 0 (got ${String(emptyTimeoutSec)})`);
  }
  if (topology !== 'independent' && topology !== 'cluster') {
    problems.push(`${names.topology} must be independent or cluster (got ${JSON.stringify(topology)})`);
  } else if (topology === 'cluster' && engine !== 'livekit') {
    problems.push(
      `${names.topology} cluster is LiveKit's own multi-node cluster (Redis routing): it needs ${names.engine} livekit; the dev engine does not imitate it`,
    );
  }
  if (topology !== 'cluster' && (nodePort !== undefined || livekitRedisUrl !== undefined)) {
    problems.push(`${names.nodePort} and ${names.livekitRedisUrl} apply to ${names.topology} cluster only`);
  }
  if (nodePort !== undefined && !(Number.isInteger(nodePort) && nodePort >= 1 && nodePort <= 65_533)) {
    problems.push(
      `${names.nodePort} must be a port from 1 to 65533 (its UDP port is 2 above; got ${String(nodePort)})`,
    );
  }
  if (livekitRedisUrl !== undefined && !isUrlOf(livekitRedisUrl, ['redis:', 'rediss:'])) {
    problems.push(`${names.livekitRedisUrl} must be a redis:// or rediss:// URL`);
  }
  return problems;
}

function isHttpUrl(value: string): boolean {
  return isUrlOf(value, ['http:', 'https:']);
}

function isUrlOf(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * Starts `options.nodes` node processes of `engine` on loopback and resolves once every one of them
 * listens (in a cluster: registered in LiveKit's Redis, with nginx in front). The one place that
 * chooses between the engines and the topologies.
 */
export function startMediaCluster(
  engine: 'livekit',
  options: MediaClusterOptions & { topology: 'cluster' },
): Promise<LiveKitCluster>;
export function startMediaCluster(engine: MediaEngine, options: MediaClusterOptions): Promise<MediaCluster>;
export async function startMediaCluster(engine: MediaEngine, options: MediaClusterOptions): Promise<MediaCluster> {
  const problems = validateMediaClusterOptions(engine, options);
  if (problems.length > 0) throw new Error(`Bad media cluster options: ${problems.join('; ')}`);
  if (options.topology === 'cluster') {
    return startLiveKitCluster({
      nodes: options.nodes,
      clientPort: options.basePort ?? 0,
      nodePort: options.nodePort ?? DEFAULT_NODE_PORT,
      redisUrl: options.livekitRedisUrl,
      apiKey: options.apiKey,
      apiSecret: options.apiSecret,
      webhookUrl: options.webhookUrl,
      emptyTimeoutSec: options.emptyTimeoutSec ?? DEFAULT_EMPTY_TIMEOUT_SEC,
      onLog: options.onLog ?? (() => undefined),
    });
  }
  const driver = ENGINES[engine];
  driver.assertRunnable();
  const settings = {
    apiKey: options.apiKey,
    apiSecret: options.apiSecret,
    webhookUrl: options.webhookUrl,
    emptyTimeoutSec: options.emptyTimeoutSec ?? DEFAULT_EMPTY_TIMEOUT_SEC,
  };
  const onLog = options.onLog ?? (() => undefined);
  const pickPorts = (options.basePort ?? 0) === 0;
  for (let attempt = 1; ; attempt++) {
    const basePort = pickPorts ? await findFreePortRange(options.nodes, LOOPBACK_HOST) : options.basePort!;
    const { processes, dispose } = await driver.nodeProcesses(options.nodes, basePort, settings, onLog);
    const pool = new ProcessPool(options.apiKey, options.apiSecret, processes, dispose);
    try {
      await pool.startAll();
      return pool;
    } catch (error) {
      await pool.stop();
      const retry = pickPorts && error instanceof NodeStartError && error.portInUse && attempt < PORT_RANGE_ATTEMPTS;
      if (!retry) throw error;
    }
  }
}
