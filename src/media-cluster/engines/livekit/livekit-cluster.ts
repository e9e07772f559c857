import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LiveKitCluster, MediaNodeInfo, RegisteredLiveKitNode } from '../../api';
import type { NodeSettings } from '../../engine-driver';
import { BalancerHealthCheck } from '../../balancer-health-check';
import { claimLoopbackAddresses, type LoopbackAddresses } from '../../loopback-addresses';
import { requireNginx, startNginx, type NginxProcess } from '../../nginx';
import { ProcessPool } from '../../process-pool';
import { requireRedisServer, startRedisProcess, type RedisProcess } from '../../redis-process';
import { freePort, isPortFree, isUdpPortFree } from '../../../shared/ports';
import { requireLivekitBinary } from './livekit-binary';
import { LiveKitNodeProcess, type LiveKitRedisSettings } from './livekit-node-process';
import { LiveKitRegistry } from './livekit-registry';

/** LiveKit's own signal port; every node of a cluster listens on it at its own address. */
export const DEFAULT_NODE_PORT = 7880;
/** LiveKit's layout: signal on `port`, ICE/TCP on +1 (off here), ICE/UDP on +2. */
const UDP_PORT_OFFSET = 2;
/**
 * nginx's passive check never skips a member: a refused connect on loopback costs nothing (the request
 * goes straight to the next member), and the health check (BalancerHealthCheck) leaves out a member that
 * does not answer. Skipping one that refused (max_fails=1) left a restarted member out for as long as
 * new WebSockets kept reaching it: nginx lets one request through to a skipped upstream and counts it
 * back only when that request ends, which a WebSocket does not, so killing the other member then found
 * "no live upstreams" and every join got a 502.
 */
const FAIL_TIMEOUT_SEC = 0;

export interface LiveKitClusterOptions extends NodeSettings {
  nodes: number;
  /** nginx's port on 127.0.0.1; 0 = a free one. */
  clientPort: number;
  nodePort: number;
  /** A Redis to share; unset = a redis-server of its own. */
  redisUrl?: string;
  onLog: (line: string) => void;
}

/**
 * LiveKit's own multi-node cluster on one machine: N livekit-server nodes sharing one Redis, each on its
 * own loopback address (127.0.0.41, .42, ...) and the same signal port, as separate hosts would be, and
 * nginx on 127.0.0.1 in front of them as the one client URL. Each node's webhooks go to the backend.
 */
export async function startLiveKitCluster(options: LiveKitClusterOptions): Promise<LiveKitCluster> {
  const binary = requireLivekitBinary();
  requireNginx();
  if (options.redisUrl === undefined) requireRedisServer();
  if (options.clientPort !== 0 && !(await isPortFree(options.clientPort)))
    throw new Error(`port ${options.clientPort} is taken; the cluster's URL needs a free one (or 0)`);

  const dir = mkdtempSync(join(tmpdir(), 'livekit-cluster-'));
  const parts: ClusterParts = { dir };
  const cluster = new LiveKitClusterProcesses(options.apiKey, options.apiSecret, parts);
  try {
    const udpPort = options.nodePort + UDP_PORT_OFFSET;
    parts.addresses = await claimLoopbackAddresses(
      options.nodes,
      async (address) => (await isPortFree(options.nodePort, address)) && (await isUdpPortFree(udpPort, address)),
    );
    if (options.redisUrl === undefined) parts.redis = await startRedisProcess(dir, await freePort());
    const redisUrl = options.redisUrl ?? parts.redis!.url;
    parts.registry = new LiveKitRegistry(redisUrl);
    await parts.registry.ping();
    const redis = livekitRedisSettings(redisUrl);
    const processes = parts.addresses.addresses.map(
      (host, i) =>
        new LiveKitNodeProcess(
          binary,
          {
            name: `node-${i + 1}`,
            host,
            port: options.nodePort,
            udpPort,
            redis,
            apiKey: options.apiKey,
            apiSecret: options.apiSecret,
            webhookUrl: options.webhookUrl,
            emptyTimeoutSec: options.emptyTimeoutSec,
          },
          dir,
          options.onLog,
          parts.registry,
        ),
    );
    parts.pool = new ProcessPool(options.apiKey, options.apiSecret, processes);
    await parts.pool.startAll();
    const clientPort = options.clientPort === 0 ? await freePort() : options.clientPort;
    const upstreams = parts.addresses.addresses.map((host) => `${host}:${options.nodePort}`);
    parts.nginx = await startNginx({
      dir: join(dir, 'nginx'),
      port: clientPort,
      upstreams,
      failTimeoutSec: FAIL_TIMEOUT_SEC,
      reloadable: true,
    });
    parts.healthCheck = new BalancerHealthCheck(parts.nginx, upstreams);
    parts.healthCheck.start();
    parts.clusterUrl = `ws://127.0.0.1:${clientPort}`;
    parts.redisUrl = redisUrl;
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** What LiveKit's `redis` settings take from a redis:// or rediss:// URL. */
export function livekitRedisSettings(url: string): LiveKitRedisSettings {
  const parsed = new URL(url);
  const db = Number(parsed.pathname.replace(/^\//, '') || 0);
  return {
    address: `${parsed.hostname}:${parsed.port || 6379}`,
    username: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    db: Number.isInteger(db) && db > 0 ? db : undefined,
    useTls: parsed.protocol === 'rediss:',
  };
}

/** Whatever has been started so far; stop() undoes exactly that. */
interface ClusterParts {
  dir: string;
  addresses?: LoopbackAddresses;
  redis?: RedisProcess;
  registry?: LiveKitRegistry;
  pool?: ProcessPool;
  nginx?: NginxProcess;
  healthCheck?: BalancerHealthCheck;
  clusterUrl?: string;
  redisUrl?: string;
}

class LiveKitClusterProcesses implements LiveKitCluster {
  readonly topology = 'cluster';
  /** A supervisor that crashes must not leave nginx or its Redis behind (the pool kills its own nodes). */
  private readonly killOnExit = () => {
    this.parts.healthCheck?.stop();
    this.parts.nginx?.stop();
    const redisPid = this.parts.redis?.pid();
    if (redisPid) process.kill(redisPid, 'SIGKILL');
  };

  constructor(
    readonly apiKey: string,
    readonly apiSecret: string,
    private readonly parts: ClusterParts,
  ) {
    process.once('exit', this.killOnExit);
  }

  get clusterUrl(): string {
    return this.parts.clusterUrl!;
  }

  get nginxPid(): number {
    return this.parts.nginx?.pid ?? 0;
  }

  get livekitRedisUrl(): string {
    return this.parts.redisUrl!;
  }

  nodes(): MediaNodeInfo[] {
    return this.parts.pool?.nodes() ?? [];
  }

  registeredNodes(): Promise<RegisteredLiveKitNode[]> {
    if (!this.parts.registry) return Promise.reject(new Error('the cluster is stopped'));
    return this.parts.registry.nodes();
  }

  kill(node: string): Promise<void> {
    return this.pool().kill(node);
  }

  hang(node: string): Promise<void> {
    return this.pool().hang(node);
  }

  resume(node: string): Promise<void> {
    return this.pool().resume(node);
  }

  restart(node: string): Promise<void> {
    return this.pool().restart(node);
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    const { nginx, pool, registry, redis, addresses } = this.parts;
    this.parts.healthCheck?.stop();
    this.parts.nginx = undefined;
    nginx?.stop();
    await pool?.stop();
    this.parts.registry = undefined;
    registry?.close();
    await redis?.stop();
    addresses?.release();
    rmSync(this.parts.dir, { recursive: true, force: true });
  }

  private pool(): ProcessPool {
    if (!this.parts.pool) throw new Error('the cluster is not started');
    return this.parts.pool;
  }
}
