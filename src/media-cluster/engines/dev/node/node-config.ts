// What the supervisor hands a node process. Passed in the environment rather than argv so the API
// secret never shows up in `ps`.

export const NODE_CONFIG_ENV = 'DEV_CLUSTER_NODE_CONFIG';
/** The line a node prints on stdout once it listens; the supervisor waits for it. */
export const READY_MARKER = 'dev-cluster-node-ready';

export const LOOPBACK_HOST = '127.0.0.1';
/** Exit code of a node whose port is taken (EADDRINUSE's errno), so the supervisor can try another range. */
export const PORT_IN_USE_EXIT_CODE = 98;

export interface NodeConfig {
  name: string;
  port: number;
  apiKey: string;
  apiSecret: string;
  webhookUrl?: string;
  emptyTimeoutSec: number;
}

export function encodeNodeConfig(config: NodeConfig): string {
  return JSON.stringify(config);
}

export function decodeNodeConfig(raw: string | undefined): NodeConfig {
  if (!raw) throw new Error(`${NODE_CONFIG_ENV} is not set: a media node is started by the media cluster's dev engine`);
  const parsed = JSON.parse(raw) as Partial<NodeConfig>;
  const problems: string[] = [];
  if (typeof parsed.name !== 'string' || parsed.name === '') problems.push('name');
  if (!Number.isInteger(parsed.port) || (parsed.port as number) <= 0) problems.push('port');
  if (typeof parsed.apiKey !== 'string' || parsed.apiKey === '') problems.push('apiKey');
  if (typeof parsed.apiSecret !== 'string' || parsed.apiSecret === '') problems.push('apiSecret');
  if (typeof parsed.emptyTimeoutSec !== 'number' || parsed.emptyTimeoutSec < 0) problems.push('emptyTimeoutSec');
  if (problems.length > 0) throw new Error(`bad ${NODE_CONFIG_ENV}: ${problems.join(', ')}`);
  return parsed as NodeConfig;
}
