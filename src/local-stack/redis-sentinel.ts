import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { requireRedisServer } from '../media-cluster';
import { freePorts } from '../shared/ports';

/** The name the sentinels watch the primary under. */
export const SENTINEL_PRIMARY_NAME = 'session-rebuilder';

export interface SentinelTopologyOptions {
  /** Sentinel's down-after-milliseconds: how long the primary may be silent before a failover starts. */
  downAfterMs?: number;
}

export interface RedisSentinelTopology {
  /** host:port of each sentinel, as --redis-sentinel takes them. */
  sentinels: string[];
  name: string;
  /** The port of the Redis the sentinels now call primary. */
  primaryPort(): Promise<number>;
  /** SIGKILL of the current primary (its machine gone); answers its port. */
  killPrimary(): Promise<number>;
  /** Starts a killed server again on its port (it comes back as a replica of the promoted one). */
  restart(port: number): Promise<void>;
  /** The ports of the two data servers (primary and replica, whichever is which now). */
  dataPorts(): number[];
  /** The pid of the server on `port` (for SIGSTOP / SIGCONT). */
  pid(port: number): number;
  /** Resolves once the primary has `count` replicas in sync. */
  untilReplicated(count?: number): Promise<void>;
  stop(): Promise<void>;
}

interface Server {
  port: number;
  args: string[];
  /** A data server's own flags, without --replicaof (a restart sets whom it replicates). */
  base?: string[];
  child?: ChildProcess;
}

/**
 * Redis that survives its machine, on one machine: one primary, one replica and three sentinels (Debian's
 * redis-server; a sentinel is the same program with --sentinel), each on a free loopback port, in a
 * directory of its own. Resolves once the replica is in sync and the sentinels know each other (a
 * failover needs their quorum and an election among them).
 */
export async function startRedisSentinel(options: SentinelTopologyOptions = {}): Promise<RedisSentinelTopology> {
  requireRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const servers: Server[] = [];
  const launch = async (server: Server) => {
    const proc = spawn('redis-server', server.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server.child = proc;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(
        () => reject(new Error(`redis on ${server.port} did not start within 10 s:\n${output}`)),
        10_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ready to accept connections|Sentinel ID is/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis on ${server.port} exited (code ${String(code)}) before it was ready:\n${output}`));
      });
    });
  };
  const killAll = () => servers.forEach((server) => server.child?.kill('SIGKILL'));
  process.once('exit', killAll);
  const stop = async () => {
    process.removeListener('exit', killAll);
    await Promise.all(
      servers.map(async ({ child }) => {
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const data = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--dir', join(dir, String(port))];
    const [firstPrimary, firstReplica, ...sentinelPorts] = await freePorts(5);
    const primary: Server = { port: firstPrimary!, args: [] };
    const replica: Server = { port: firstReplica!, args: [] };
    for (const server of [primary, replica]) {
      mkdirSync(join(dir, String(server.port)));
      server.base = [...data(server.port), '--appendonly', 'yes', '--save', ''];
      server.args = server.base;
    }
    replica.args = [...replica.base!, '--replicaof', '127.0.0.1', String(primary.port)];
    servers.push(primary, replica);
    await launch(primary);
    await launch(replica);
    for (const port of sentinelPorts) {
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_PRIMARY_NAME} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_PRIMARY_NAME} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${SENTINEL_PRIMARY_NAME} 10000`,
          `sentinel parallel-syncs ${SENTINEL_PRIMARY_NAME} 1`,
          '',
        ].join('\n'),
      );
      const sentinel: Server = { port, args: [conf, '--sentinel'] };
      servers.push(sentinel);
      await launch(sentinel);
    }
    const sentinels = servers.slice(2).map(({ port }) => `127.0.0.1:${port}`);
    await until('the replica in sync and every sentinel knowing the other two', async () => {
      const replicaInfo = await command(replica.port, ['INFO', 'replication']);
      if (!String(replicaInfo).includes('master_link_status:up')) return false;
      for (const sentinel of servers.slice(2)) {
        const master = (await command(sentinel.port, ['SENTINEL', 'MASTER', SENTINEL_PRIMARY_NAME])) as string[];
        const field = (name: string) => master[master.indexOf(name) + 1];
        if (field('num-other-sentinels') !== '2' || field('num-slaves') !== '1') return false;
      }
      return true;
    });
    const primaryPort = async () => {
      const [, port] = (await command(servers[2]!.port, [
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        SENTINEL_PRIMARY_NAME,
      ])) as [string, string];
      return Number(port);
    };
    return {
      sentinels,
      name: SENTINEL_PRIMARY_NAME,
      primaryPort,
      killPrimary: async () => {
        const port = await primaryPort();
        const server = servers.find((candidate) => candidate.port === port)!;
        const exited = new Promise((resolve) => server.child!.once('exit', resolve));
        server.child!.kill('SIGKILL');
        await exited;
        return port;
      },
      restart: async (port) => {
        const server = servers.find((candidate) => candidate.port === port)!;
        // Back as a replica of whoever is primary now, as Sentinel would reconfigure it.
        server.args = [...server.base!, '--replicaof', '127.0.0.1', String(await primaryPort())];
        await launch(server);
      },
      dataPorts: () => [primary.port, replica.port],
      pid: (port) => servers.find((candidate) => candidate.port === port)!.child!.pid!,
      untilReplicated: async (count = 1) =>
        until(`${count} replica(s) in sync`, async () => {
          const info = String(await command(await primaryPort(), ['INFO', 'replication']));
          return new RegExp(`connected_slaves:${count}\\b`).test(info) && !/state=(wait_bgsave|send_bulk)/.test(info);
        }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function command(port: number, args: string[]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [name, ...rest] = args;
    return await client.call(name!, ...rest);
  } finally {
    client.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis Sentinel: ${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
