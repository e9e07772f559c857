import type { DevCluster, DevClusterOptions, DevNodeInfo } from './api';
import { waitUntilStopped } from '../shared/process-state';
import { findFreePortRange } from '../shared/ports';
import { NodeProcess, NodeStartError } from './node-process';
import { LOOPBACK_HOST } from './node/node-config';

/** LiveKit's own default for rooms nobody joins. */
export const DEFAULT_EMPTY_TIMEOUT_SEC = 300;
export const MAX_NODES = 32;
/** With basePort 0, how many port ranges to try when another process grabs a port first. */
const PORT_RANGE_ATTEMPTS = 3;

export type OptionNames = Record<'nodes' | 'basePort' | 'apiKey' | 'apiSecret' | 'webhookUrl' | 'emptyTimeoutSec', string>;
const OPTION_NAMES: OptionNames = {
  nodes: 'nodes',
  basePort: 'basePort',
  apiKey: 'apiKey',
  apiSecret: 'apiSecret',
  webhookUrl: 'webhookUrl',
  emptyTimeoutSec: 'emptyTimeoutSec',
};

/** Every problem with `options`, each naming the option as the caller knows it (`names`). */
export function validateDevClusterOptions(options: DevClusterOptions, names: OptionNames = OPTION_NAMES): string[] {
  const problems: string[] = [];
  const { nodes, basePort = 0, apiKey, apiSecret, webhookUrl, emptyTimeoutSec } = options;
  const nodeCount = Number.isInteger(nodes) && nodes >= 1 && nodes <= MAX_NODES ? nodes : undefined;
  if (nodeCount === undefined) problems.push(`${names.nodes} must be an integer from 1 to ${MAX_NODES} (got ${String(nodes)})`);
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
  return problems;
}

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** Starts `options.nodes` media node processes and resolves once every one of them listens. */
export async function startDevCluster(options: DevClusterOptions): Promise<DevCluster> {
  const problems = validateDevClusterOptions(options);
  if (problems.length > 0) throw new Error(`Bad dev cluster options: ${problems.join('; ')}`);
  const pickPorts = (options.basePort ?? 0) === 0;
  for (let attempt = 1; ; attempt++) {
    const basePort = pickPorts ? await findFreePortRange(options.nodes, LOOPBACK_HOST) : options.basePort!;
    const cluster = new LocalDevCluster(options, basePort);
    try {
      await cluster.startAll();
      return cluster;
    } catch (error) {
      await cluster.stop();
      const retry = pickPorts && error instanceof NodeStartError && error.portInUse && attempt < PORT_RANGE_ATTEMPTS;
      if (!retry) throw error;
    }
  }
}

class LocalDevCluster implements DevCluster {
  readonly apiKey: string;
  readonly apiSecret: string;
  private readonly processes: NodeProcess[];
  private readonly killOnExit = () => this.processes.forEach((node) => node.killNow());

  constructor(options: DevClusterOptions, basePort: number) {
    this.apiKey = options.apiKey;
    this.apiSecret = options.apiSecret;
    const onLog = options.onLog ?? (() => undefined);
    this.processes = Array.from(
      { length: options.nodes },
      (_, index) =>
        new NodeProcess(
          {
            name: `node-${index + 1}`,
            port: basePort + index,
            apiKey: options.apiKey,
            apiSecret: options.apiSecret,
            webhookUrl: options.webhookUrl,
            emptyTimeoutSec: options.emptyTimeoutSec ?? DEFAULT_EMPTY_TIMEOUT_SEC,
          },
          onLog,
        ),
    );
    // A test that crashes must not leave node processes behind (a stopped one would never exit).
    process.once('exit', this.killOnExit);
  }

  async startAll(): Promise<void> {
    const results = await Promise.allSettled(this.processes.map((node) => node.start()));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  nodes(): DevNodeInfo[] {
    return this.processes.map((node) => node.info());
  }

  async kill(node: string): Promise<void> {
    await this.find(node).kill();
  }

  async hang(node: string): Promise<void> {
    const target = this.find(node);
    target.hang();
    const { pid } = target.info();
    if (pid) await waitUntilStopped(pid);
  }

  async resume(node: string): Promise<void> {
    this.find(node).resume();
  }

  async restart(node: string): Promise<void> {
    const target = this.find(node);
    await target.kill();
    await target.start();
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    await Promise.all(this.processes.map((node) => node.kill()));
  }

  private find(node: string): NodeProcess {
    const wanted = normalizeNodeRef(node);
    const found = this.processes.find((candidate) => candidate.name === wanted || normalizeNodeRef(candidate.url) === wanted);
    if (!found) {
      const known = this.processes.map((candidate) => `${candidate.name} (${candidate.url})`).join(', ');
      throw new Error(`Unknown dev cluster node "${node}"; known: ${known}`);
    }
    return found;
  }
}

/** `node-2`, `ws://127.0.0.1:7881`, `http://127.0.0.1:7881/` all name the same node. */
function normalizeNodeRef(ref: string): string {
  const trimmed = ref.trim();
  if (!/^(ws|http)s?:\/\//.test(trimmed)) return trimmed;
  const url = new URL(trimmed);
  return `${url.hostname}:${url.port}`;
}
