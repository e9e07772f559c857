import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MediaNodeInfo } from '../../api';
import type { NodeSettings } from '../../engine-driver';
import { LOOPBACK_HOST, NodeProcess, type NodeLaunch } from '../../node-process';
import type { LiveKitRegistry } from './livekit-registry';

/** LiveKit starts in well under a second here; a cold start on a loaded 2-core machine takes longer. */
const READY_TIMEOUT_MS = 20_000;
/** One readiness check's bound: a server still starting may accept and not answer yet. */
const READY_CHECK_TIMEOUT_MS = 500;
const LIVEKIT_DEPARTURE_TIMEOUT_S = 20;
/** LiveKit registers before it listens (server.go Start), so its entry is there once `GET /` answers; slack for Redis. */
const REGISTRATION_TIMEOUT_MS = 2_000;
const REGISTRATION_POLL_MS = 50;

/** LiveKit's `redis` settings (config.RedisConfig). */
export interface LiveKitRedisSettings {
  address: string;
  username?: string;
  password?: string;
  db?: number;
  useTls?: boolean;
}

export interface LiveKitNodeConfig extends NodeSettings {
  name: string;
  /** The one address it binds, registers (`rtc.node_ip`) and offers ICE candidates on; default 127.0.0.1. */
  host?: string;
  /** Signal + RoomService + GET / (LiveKit's `port`). */
  port: number;
  /** ICE over UDP, one port muxing every peer connection (bound to `host` only). */
  udpPort: number;
  /** A Redis the nodes share: LiveKit's own multi-node mode (rooms routed between nodes). */
  redis?: LiveKitRedisSettings;
  /** LiveKit's `room.auto_create` (default true): false, a join into a room nobody created is refused. */
  autoCreateRooms?: boolean;
}

/**
 * The node's own config file: one loopback address only, no external IP lookup (no STUN), its own
 * ports, the backend as webhook target, and no Redis (each node independent, as the dev engine's nodes
 * are) unless `redis` makes them one LiveKit multi-node cluster.
 */
export function livekitYaml(config: LiveKitNodeConfig): string {
  const host = config.host ?? LOOPBACK_HOST;
  const lines = [
    `port: ${config.port}`,
    `bind_addresses: ["${host}"]`,
    'rtc:',
    // No ICE over TCP: LiveKit binds its TCP mux to every interface with no option to narrow it, and
    // these servers listen on one loopback address only. UDP (one muxed port, bound to `host`) carries
    // the media, so nodes on different addresses may share a UDP port, as separate hosts would.
    '  tcp_port: 0',
    `  udp_port: ${config.udpPort}`,
    '  use_external_ip: false',
    // Written to Redis `nodes` as the node's ip, and the address its ICE candidates carry.
    `  node_ip: ${host}`,
    // With no STUN or TURN server configured, LiveKit hands every client Google's and Twilio's public
    // STUN servers in its join response. A loopback address where nothing answers STUN keeps clients
    // off the network; the server itself uses stun_servers only to find an external IP (off here).
    `  stun_servers: ["${host}:${config.port}"]`,
    // The UDP mux binds the interface addresses these filters keep: loopback ones only with this flag,
    // and of them only `host` (which must be on an interface, lo here, to be listed at all).
    '  enable_loopback_candidate: true',
    '  ips:',
    `    includes: ["${host}/32"]`,
    'keys:',
    `  ${JSON.stringify(config.apiKey)}: ${JSON.stringify(config.apiSecret)}`,
    'room:',
    ...(config.autoCreateRooms === false ? ['  auto_create: false'] : []),
    `  empty_timeout: ${config.emptyTimeoutSec}`,
    // The dev engine closes a room this long after its last participant left too; LiveKit's own
    // default for that (departure_timeout) is 20 s, kept unless a shorter time is asked for.
    `  departure_timeout: ${Math.min(config.emptyTimeoutSec, LIVEKIT_DEPARTURE_TIMEOUT_S)}`,
    'logging:',
    '  level: warn',
  ];
  if (config.redis) {
    const { address, username, password, db, useTls } = config.redis;
    lines.push('redis:', `  address: ${JSON.stringify(address)}`);
    if (username) lines.push(`  username: ${JSON.stringify(username)}`);
    if (password) lines.push(`  password: ${JSON.stringify(password)}`);
    if (db) lines.push(`  db: ${db}`);
    if (useTls) lines.push('  use_tls: true');
  }
  if (config.webhookUrl)
    lines.push(
      'webhook:',
      `  api_key: ${JSON.stringify(config.apiKey)}`,
      '  urls:',
      `    - ${JSON.stringify(config.webhookUrl)}`,
    );
  return `${lines.join('\n')}\n`;
}

/**
 * One livekit-server process with its own config file; the pool kills, stops and continues it by pid.
 * Given the cluster's registry, it learns LiveKit's id for each process it starts.
 */
export class LiveKitNodeProcess extends NodeProcess {
  private readonly configPath: string;
  private nodeId: string | undefined;

  constructor(
    private readonly binary: string,
    config: LiveKitNodeConfig,
    dir: string,
    onLog: (line: string) => void,
    private readonly registry?: LiveKitRegistry,
  ) {
    super(config.name, config.port, onLog, config.host);
    this.configPath = join(dir, `${config.name}.yaml`);
    writeFileSync(this.configPath, livekitYaml(config), { mode: 0o600 });
  }

  /** The id is the entry of Redis `nodes` at this node's ip that was not there before this start. */
  override async start(): Promise<void> {
    if (!this.registry) return super.start();
    const registry = this.registry;
    const atThisIp = async () => (await registry.nodes()).filter((node) => node.ip === this.host);
    const before = new Set((await atThisIp()).map((node) => node.id));
    await super.start();
    const deadline = Date.now() + REGISTRATION_TIMEOUT_MS;
    for (;;) {
      const fresh = (await atThisIp()).filter((node) => !before.has(node.id));
      if (fresh.length === 1) {
        this.nodeId = fresh[0]!.id;
        return;
      }
      if (fresh.length > 1 || Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `${this.name} answers on ${this.url} but ${fresh.length === 0 ? 'no' : 'more than one'} new entry at ip ${this.host} is in LiveKit's Redis \`nodes\``,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, REGISTRATION_POLL_MS));
    }
  }

  override info(): MediaNodeInfo {
    return this.nodeId ? { ...super.info(), livekitNodeId: this.nodeId } : super.info();
  }

  protected launch(): NodeLaunch {
    return {
      command: this.binary,
      args: ['--config', this.configPath],
      stdin: 'ignore',
      // livekit-server prints no line a supervisor could wait for: it is ready when `GET /` answers.
      ready: { check: () => answers(`http://${this.host}:${this.port}/`) },
      readyTimeoutMs: READY_TIMEOUT_MS,
    };
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
