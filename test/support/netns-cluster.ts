// Media nodes of either engine, each in a network namespace of its own (see netns.ts): one "machine" per
// node, served at ws://10.77.N.2:7880, so a test can take a machine off the network or break its media
// path while its process runs on. The processes are the production build's own node programs, started
// with `ip netns exec` and driven (kill, hang, restart) by the media cluster's own process pool, by pid.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type * as NodeProcessApi from '../../src/media-cluster/node-process';
import type * as ProcessPoolApi from '../../src/media-cluster/process-pool';
import type * as DevNodeConfigApi from '../../src/media-cluster/engines/dev/node/node-config';
import type * as LiveKitNodeApi from '../../src/media-cluster/engines/livekit/livekit-node-process';
import type * as LiveKitBinaryApi from '../../src/media-cluster/engines/livekit/livekit-binary';
import type { NodeLaunch } from '../../src/media-cluster/node-process';
import type { IndependentMediaCluster, MediaEngine, MediaNodeInfo } from '../../src/media-cluster';
import { built } from './built';
import { createNetnsHosts, type NetnsHost, type NetnsHosts } from './netns';

/* eslint-disable @typescript-eslint/no-require-imports -- the compiled build (dist/), as engines.ts loads it */
const { NodeProcess } = require(built('src/media-cluster/node-process')) as typeof NodeProcessApi;
const { ProcessPool } = require(built('src/media-cluster/process-pool')) as typeof ProcessPoolApi;
const devNode = require(built('src/media-cluster/engines/dev/node/node-config')) as typeof DevNodeConfigApi;
const { LiveKitNodeProcess } = require(
  built('src/media-cluster/engines/livekit/livekit-node-process'),
) as typeof LiveKitNodeApi;
const { requireLivekitBinary } = require(
  built('src/media-cluster/engines/livekit/livekit-binary'),
) as typeof LiveKitBinaryApi;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Every node's signal port (LiveKit's default): each machine has an address of its own. */
export const NETNS_SIGNAL_PORT = 7880;
/** LiveKit's ICE/UDP port (its default is 7882), one per machine. */
const NETNS_UDP_PORT = 7882;
const DEV_NODE_ENTRY = built('src/media-cluster/engines/dev/node/media-node.main.js');
const DEV_READY_TIMEOUT_MS = 15_000;

export type NetnsFault = 'vanish' | 'media-path';

export interface NetnsMediaCluster extends IndependentMediaCluster {
  readonly engine: MediaEngine;
  /** The machine of a node (name or url). */
  machine(node: string): NetnsHost;
  /** The machine vanishes (link down) or its media path breaks (UDP dropped); heal() undoes either. */
  inject(node: string, fault: NetnsFault): void;
  heal(node: string): void;
}

export interface NetnsClusterOptions {
  nodes: number;
  apiKey: string;
  apiSecret: string;
  /** The backend's port on 127.0.0.1: every node posts its webhooks there, through its machine's link. */
  webhookPort?: number;
  emptyTimeoutSec?: number;
  onLog?: (line: string) => void;
}

/** A dev engine node (werift) run inside its machine; it binds 127.0.0.1 there, forwarded from 10.77.N.2. */
class NetnsDevNode extends NodeProcess {
  constructor(
    private readonly machine: NetnsHost,
    private readonly config: DevNodeConfigApi.NodeConfig,
    onLog: (line: string) => void,
  ) {
    super(config.name, config.port, onLog, machine.address);
  }

  protected launch(): NodeLaunch {
    const { command, args } = this.machine.exec(process.execPath, [DEV_NODE_ENTRY]);
    return {
      command,
      args,
      env: { ...process.env, [devNode.NODE_CONFIG_ENV]: devNode.encodeNodeConfig(this.config) },
      stdin: 'pipe',
      ready: { line: devNode.READY_MARKER },
      readyTimeoutMs: DEV_READY_TIMEOUT_MS,
      portInUseExitCode: devNode.PORT_IN_USE_EXIT_CODE,
    };
  }
}

/** A real livekit-server inside its machine, bound to the machine's address only. */
class NetnsLiveKitNode extends LiveKitNodeProcess {
  constructor(
    private readonly machine: NetnsHost,
    binary: string,
    config: LiveKitNodeApi.LiveKitNodeConfig,
    dir: string,
    onLog: (line: string) => void,
  ) {
    super(binary, config, dir, onLog);
  }

  protected override launch(): NodeLaunch {
    const launch = super.launch();
    return { ...launch, ...this.machine.exec(launch.command, launch.args) };
  }
}

/**
 * `options.nodes` nodes of `engine`, node-K in machine K at ws://10.77.N.2:7880. Everything it made
 * (processes, namespaces, veths, nftables tables) goes in stop(), also after a failed start.
 */
export async function startNetnsMediaCluster(
  engine: MediaEngine,
  options: NetnsClusterOptions,
): Promise<NetnsMediaCluster> {
  const onLog = options.onLog ?? (() => undefined);
  const emptyTimeoutSec = options.emptyTimeoutSec ?? 300;
  const machines: NetnsHosts = createNetnsHosts(options.nodes);
  let dir: string | undefined;
  let pool: ProcessPoolApi.ProcessPool | undefined;
  try {
    if (options.webhookPort !== undefined) machines.exposeHostPort(options.webhookPort);
    const settings = (host: NetnsHost) => ({
      apiKey: options.apiKey,
      apiSecret: options.apiSecret,
      webhookUrl:
        options.webhookPort === undefined
          ? undefined
          : `http://${host.hostAddress}:${options.webhookPort}/webhooks/livekit`,
      emptyTimeoutSec,
    });
    let processes: NodeProcessApi.NodeProcess[];
    if (engine === 'dev') {
      processes = machines.hosts.map((host, i) => {
        host.forwardToLoopback(NETNS_SIGNAL_PORT);
        return new NetnsDevNode(host, { name: `node-${i + 1}`, port: NETNS_SIGNAL_PORT, ...settings(host) }, onLog);
      });
    } else {
      const binary = requireLivekitBinary();
      const configDir = mkdtempSync(join(tmpdir(), 'livekit-netns-'));
      dir = configDir;
      processes = machines.hosts.map(
        (host, i) =>
          new NetnsLiveKitNode(
            host,
            binary,
            {
              name: `node-${i + 1}`,
              host: host.address,
              port: NETNS_SIGNAL_PORT,
              udpPort: NETNS_UDP_PORT,
              ...settings(host),
            },
            configDir,
            onLog,
          ),
      );
    }
    const configDir = dir;
    pool = new ProcessPool(options.apiKey, options.apiSecret, processes, () => {
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    });
    await pool.startAll();
  } catch (error) {
    await pool?.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    machines.remove();
    throw error;
  }
  const started = pool;
  const machineOf = (node: string): NetnsHost => {
    const index = started.nodes().findIndex((n: MediaNodeInfo) => n.name === node || n.url === node);
    if (index < 0)
      throw new Error(
        `unknown node "${node}"; known: ${started
          .nodes()
          .map((n) => n.name)
          .join(', ')}`,
      );
    return machines.hosts[index]!;
  };
  let stopped = false;
  return {
    engine,
    topology: 'independent',
    apiKey: options.apiKey,
    apiSecret: options.apiSecret,
    nodes: () => started.nodes(),
    kill: (node) => started.kill(node),
    hang: (node) => started.hang(node),
    resume: (node) => started.resume(node),
    restart: (node) => started.restart(node),
    machine: machineOf,
    inject(node, fault) {
      const machine = machineOf(node);
      if (machine.fault !== 'none') throw new Error(`${node} already has a fault (${machine.fault})`);
      if (fault === 'vanish') machine.vanish();
      else machine.dropMedia();
    },
    heal: (node) => machineOf(node).heal(),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await started.stop();
      } finally {
        machines.remove();
      }
    },
  };
}
