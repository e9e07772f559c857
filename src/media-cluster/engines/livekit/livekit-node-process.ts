import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeSettings } from '../../engine-driver';
import { LOOPBACK_HOST, NodeProcess, type NodeLaunch } from '../../node-process';

/** LiveKit starts in well under a second here; a cold start on a loaded 2-core machine takes longer. */
const READY_TIMEOUT_MS = 20_000;
/** One readiness check's bound: a server still starting may accept and not answer yet. */
const READY_CHECK_TIMEOUT_MS = 500;
const LIVEKIT_DEPARTURE_TIMEOUT_S = 20;

export interface LiveKitNodeConfig extends NodeSettings {
  name: string;
  /** Signal + RoomService + GET / (LiveKit's `port`). */
  port: number;
  /** ICE over UDP, one port muxing every peer connection. */
  udpPort: number;
  /** host:port of a Redis the nodes share: LiveKit's own multi-node mode (rooms routed between nodes). */
  redisAddress?: string;
}

/**
 * The node's own config file: loopback only, no external IP lookup (no STUN), its own ports, the
 * backend as webhook target, and no Redis (each node independent, as the dev engine's nodes are)
 * unless `redisAddress` makes them one LiveKit multi-node cluster.
 */
export function livekitYaml(config: LiveKitNodeConfig): string {
  const lines = [
    `port: ${config.port}`,
    `bind_addresses: ["${LOOPBACK_HOST}"]`,
    'rtc:',
    // No ICE over TCP: LiveKit binds its TCP mux to every interface with no option to narrow it, and
    // these servers listen on loopback only. UDP (one muxed port, bound to 127.0.0.1) carries the media.
    '  tcp_port: 0',
    `  udp_port: ${config.udpPort}`,
    '  use_external_ip: false',
    `  node_ip: ${LOOPBACK_HOST}`,
    // With no STUN or TURN server configured, LiveKit hands every client Google's and Twilio's public
    // STUN servers in its join response. A loopback address where nothing answers STUN keeps clients
    // off the network; the server itself uses stun_servers only to find an external IP (off here).
    `  stun_servers: ["${LOOPBACK_HOST}:${config.port}"]`,
    '  enable_loopback_candidate: true',
    '  ips:',
    `    includes: ["${LOOPBACK_HOST}/32"]`,
    'keys:',
    `  ${JSON.stringify(config.apiKey)}: ${JSON.stringify(config.apiSecret)}`,
    'room:',
    `  empty_timeout: ${config.emptyTimeoutSec}`,
    // The dev engine closes a room this long after its last participant left too; LiveKit's own
    // default for that (departure_timeout) is 20 s, kept unless a shorter time is asked for.
    `  departure_timeout: ${Math.min(config.emptyTimeoutSec, LIVEKIT_DEPARTURE_TIMEOUT_S)}`,
    'logging:',
    '  level: warn',
  ];
  if (config.redisAddress) lines.push('redis:', `  address: ${JSON.stringify(config.redisAddress)}`);
  if (config.webhookUrl)
    lines.push(
      'webhook:',
      `  api_key: ${JSON.stringify(config.apiKey)}`,
      '  urls:',
      `    - ${JSON.stringify(config.webhookUrl)}`,
    );
  return `${lines.join('\n')}\n`;
}

/** One livekit-server process with its own config file; the pool kills, stops and continues it by pid. */
export class LiveKitNodeProcess extends NodeProcess {
  private readonly configPath: string;

  constructor(
    private readonly binary: string,
    config: LiveKitNodeConfig,
    dir: string,
    onLog: (line: string) => void,
  ) {
    super(config.name, config.port, onLog);
    this.configPath = join(dir, `${config.name}.yaml`);
    writeFileSync(this.configPath, livekitYaml(config), { mode: 0o600 });
  }

  protected launch(): NodeLaunch {
    return {
      command: this.binary,
      args: ['--config', this.configPath],
      stdin: 'ignore',
      // livekit-server prints no line a supervisor could wait for: it is ready when `GET /` answers.
      ready: { check: () => answers(`http://${LOOPBACK_HOST}:${this.port}/`) },
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
