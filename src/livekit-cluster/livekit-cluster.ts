import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevCluster, DevClusterOptions, DevNodeInfo } from '../dev-cluster/api';
import { waitUntilStopped } from '../shared/process-state';
import { findFreePortRange, freeUdpPort } from '../shared/ports';
import { requireLivekitBinary } from './livekit-binary';
import { LiveKitNodeProcess } from './livekit-node';

/** LiveKit's own default for a room nobody joins. */
const DEFAULT_EMPTY_TIMEOUT_SEC = 300;

/**
 * N independent real livekit-server processes on loopback, behind the dev cluster's interface (kill =
 * SIGKILL, hang = SIGSTOP, resume, restart on the same URL, stop), so every test and benchmark can run
 * on either engine. Needs `npm run livekit:install`.
 */
export async function startLiveKitCluster(options: DevClusterOptions): Promise<DevCluster> {
  const binary = requireLivekitBinary();
  const base = options.basePort ? options.basePort : await findFreePortRange(options.nodes);
  const dir = mkdtempSync(join(tmpdir(), 'livekit-cluster-'));
  const nodes: LiveKitNodeProcess[] = [];
  for (let i = 0; i < options.nodes; i++) {
    const config = {
      name: `node-${i + 1}`,
      port: base + i,
      udpPort: await freeUdpPort(),
      apiKey: options.apiKey,
      apiSecret: options.apiSecret,
      webhookUrl: options.webhookUrl,
      emptyTimeoutSec: options.emptyTimeoutSec ?? DEFAULT_EMPTY_TIMEOUT_SEC,
    };
    nodes.push(new LiveKitNodeProcess(binary, config, dir, options.onLog ?? (() => undefined)));
  }
  const cluster = new LiveKitCluster(options, nodes, dir);
  try {
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

class LiveKitCluster implements DevCluster {
  readonly apiKey: string;
  readonly apiSecret: string;
  private readonly killOnExit = () => this.processes.forEach((node) => node.killNow());

  constructor(
    options: DevClusterOptions,
    private readonly processes: LiveKitNodeProcess[],
    private readonly dir: string,
  ) {
    this.apiKey = options.apiKey;
    this.apiSecret = options.apiSecret;
    // A test that crashes must not leave servers behind (a stopped one would never exit).
    process.once('exit', this.killOnExit);
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
    rmSync(this.dir, { recursive: true, force: true });
  }

  private find(node: string): LiveKitNodeProcess {
    const port = /:(\d+)\/?$/.exec(node.trim())?.[1];
    const found = this.processes.find((candidate) => candidate.name === node.trim() || (port !== undefined && candidate.info().port === Number(port)));
    if (!found) throw new Error(`Unknown LiveKit node "${node}"; known: ${this.processes.map((n) => `${n.name} (${n.url})`).join(', ')}`);
    return found;
  }
}
