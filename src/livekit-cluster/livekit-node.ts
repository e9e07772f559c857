import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DevNodeInfo, DevNodeState } from '../dev-cluster/api';

const LOOPBACK = '127.0.0.1';
/** LiveKit starts in well under a second here; a cold start on a loaded 2-core machine takes longer. */
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;
const KEPT_START_LINES = 40;
const LIVEKIT_DEPARTURE_TIMEOUT_S = 20;

export interface LiveKitNodeConfig {
  name: string;
  /** Signal + RoomService + GET / (LiveKit's `port`). */
  port: number;
  /** ICE over UDP, one port muxing every peer connection. */
  udpPort: number;
  apiKey: string;
  apiSecret: string;
  webhookUrl?: string;
  emptyTimeoutSec: number;
  /** host:port of a Redis the nodes share: LiveKit's own multi-node mode (rooms routed between nodes). */
  redisAddress?: string;
}

/**
 * The node's own config file: loopback only, no external IP lookup (no STUN), its own ports, the
 * backend as webhook target, and no Redis (each node independent, as the dev cluster's nodes are)
 * unless `redisAddress` makes them one LiveKit multi-node cluster.
 */
export function livekitYaml(config: LiveKitNodeConfig): string {
  const lines = [
    `port: ${config.port}`,
    `bind_addresses: ["${LOOPBACK}"]`,
    'rtc:',
    // No ICE over TCP: LiveKit binds its TCP mux to every interface with no option to narrow it, and
    // these servers listen on loopback only. UDP (one muxed port, bound to 127.0.0.1) carries the media.
    '  tcp_port: 0',
    `  udp_port: ${config.udpPort}`,
    '  use_external_ip: false',
    `  node_ip: ${LOOPBACK}`,
    // With no STUN or TURN server configured, LiveKit hands every client Google's and Twilio's public
    // STUN servers in its join response. A loopback address where nothing answers STUN keeps clients
    // off the network; the server itself uses stun_servers only to find an external IP (off here).
    `  stun_servers: ["${LOOPBACK}:${config.port}"]`,
    '  enable_loopback_candidate: true',
    '  ips:',
    `    includes: ["${LOOPBACK}/32"]`,
    'keys:',
    `  ${JSON.stringify(config.apiKey)}: ${JSON.stringify(config.apiSecret)}`,
    'room:',
    `  empty_timeout: ${config.emptyTimeoutSec}`,
    // The dev cluster closes a room this long after its last participant left too; LiveKit's own
    // default for that (departure_timeout) is 20 s, kept unless a shorter time is asked for.
    `  departure_timeout: ${Math.min(config.emptyTimeoutSec, LIVEKIT_DEPARTURE_TIMEOUT_S)}`,
    'logging:',
    '  level: warn',
  ];
  if (config.redisAddress) lines.push('redis:', `  address: ${JSON.stringify(config.redisAddress)}`);
  if (config.webhookUrl) lines.push('webhook:', `  api_key: ${JSON.stringify(config.apiKey)}`, '  urls:', `    - ${JSON.stringify(config.webhookUrl)}`);
  return `${lines.join('\n')}\n`;
}

/** One livekit-server process, killed, stopped and continued by pid like a dev cluster node. */
export class LiveKitNodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private current: DevNodeState = 'dead';
  private readonly startLines: string[] = [];
  private readonly configPath: string;

  constructor(
    private readonly binary: string,
    private readonly config: LiveKitNodeConfig,
    dir: string,
    private readonly onLog: (line: string) => void,
  ) {
    this.configPath = join(dir, `${config.name}.yaml`);
    writeFileSync(this.configPath, livekitYaml(config), { mode: 0o600 });
  }

  get name(): string {
    return this.config.name;
  }

  get url(): string {
    return `ws://${LOOPBACK}:${this.config.port}`;
  }

  info(): DevNodeInfo {
    return { name: this.name, url: this.url, port: this.config.port, pid: this.child?.pid, state: this.current };
  }

  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already started`);
    this.startLines.length = 0;
    const child = spawn(this.binary, ['--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let exitedEarly: string | undefined;
    const onLine = (line: string) => {
      if (this.current === 'dead' && this.startLines.length < KEPT_START_LINES) this.startLines.push(line);
      this.onLog(`[${this.name}] ${line}`);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('error', (error) => (exitedEarly = `could not be spawned: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.current === 'dead') exitedEarly ??= `exited (${signal ?? `code ${code}`}) before listening`;
      this.current = 'dead';
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exitedEarly) throw new Error(`${this.name} ${exitedEarly}${this.tail()}`);
      if (await this.answers()) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${this.name} did not answer GET / within ${READY_TIMEOUT_MS} ms${this.tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    this.current = 'running';
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    // A stopped process only dies of SIGKILL once continued by the kernel, which SIGKILL does itself.
    child.kill('SIGKILL');
    await this.exited;
  }

  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  hang(): void {
    this.requireAlive('hang').kill('SIGSTOP');
    this.current = 'hung';
  }

  resume(): void {
    this.requireAlive('resume').kill('SIGCONT');
    this.current = 'running';
  }

  private async answers(): Promise<boolean> {
    try {
      const res = await fetch(`http://${LOOPBACK}:${this.config.port}/`, { signal: AbortSignal.timeout(500) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  private requireAlive(action: string): ChildProcess {
    if (!this.child) throw new Error(`cannot ${action} ${this.name}: it is dead (restart it first)`);
    return this.child;
  }

  private tail(): string {
    return this.startLines.length > 0 ? `:\n  ${this.startLines.join('\n  ')}` : '';
  }
}
