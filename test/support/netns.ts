// Network namespaces for the tests: a "machine" of its own per media node (iproute2 + nftables, as root).
// Each one is a namespace joined to the host by a veth pair on a /30 of 10.77.0.0/16: the host side
// holds 10.77.N.1, the node's side 10.77.N.2. Every name carries this process's pid, every piece is
// removed by remove() (also on process exit), and nothing here ever skips: a machine that refuses
// namespaces fails the test with the command that failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

/** The /16 the tests' namespaces take their /30s from (nothing else on a test machine uses it). */
const NETNS_PREFIX = '10.77';
/** How the namespace's own nftables tables are named (one for the node's port, one for faults). */
const NODE_TABLE = 'sr_node';
const FAULT_TABLE = 'sr_fault';
/** The host's table, for webhooks from the namespaces to the backend on 127.0.0.1. */
const HOST_TABLE_PREFIX = 'sr_netns_';

/** Runs a command, throwing with its output when it fails: a refused namespace must fail the test loudly. */
export function run(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input, timeout: 10_000 });
  if (result.error)
    throw new Error(
      `${command} could not run (${result.error.message}); the network namespace tests need root, iproute2 and nftables (Debian: apt-get install iproute2 nftables)`,
    );
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${result.status}): ${`${result.stderr}${result.stdout}`.trim()}`,
    );
  return result.stdout;
}

/** Throws, naming what is missing, unless this process may create namespaces and nftables rules. */
export function requireNetns(): void {
  if (process.getuid?.() !== 0)
    throw new Error('the network namespace tests need root (ip netns, veth pairs, nftables); CI runs as root');
  run('ip', ['-V']);
  run('nft', ['--version']);
}

/** One namespace and its veth pair: the node's "machine" and its only link to the host. */
export interface NetnsHost {
  readonly namespace: string;
  /** The address the node serves on, inside the namespace (10.77.N.2). */
  readonly address: string;
  /** The host's end of the link (10.77.N.1): where the namespace reaches the host. */
  readonly hostAddress: string;
  readonly hostVeth: string;
  readonly nodeVeth: string;
  /** `ip netns exec NS` + command: ip execs it in place, so the spawned pid is the command's own. */
  exec(command: string, args: string[]): { command: string; args: string[] };
  /**
   * Forwards `port` on the namespace's address to 127.0.0.1 inside it (for a server that binds loopback
   * only, as the dev engine's nodes do): nftables DNAT with route_localnet on the node's interface.
   */
  forwardToLoopback(port: number): void;
  /** The machine vanishes: its link goes down. Nothing answers, nothing resets; the host keeps its route. */
  vanish(): void;
  /**
   * Its media path breaks: every UDP packet in or out of its link is dropped (ICE, DTLS, RTP: the nodes
   * here carry media on UDP only), TCP (the signal, RoomService, `GET /`, webhooks) goes on.
   */
  dropMedia(): void;
  /** Back to normal: link up, route back, fault rules gone. */
  heal(): void;
  readonly fault: 'none' | 'vanished' | 'media-dropped';
  remove(): void;
}

/** The host's part of the namespaces (webhook forwarding) and their removal. */
export interface NetnsHosts {
  readonly hosts: NetnsHost[];
  /**
   * Makes 127.0.0.1:`port` on the host (the backend) reachable from every namespace at its host address,
   * `http://10.77.N.1:PORT`: nftables DNAT on the host, for these veths only.
   */
  exposeHostPort(port: number): void;
  /** Removes every namespace, veth and nftables table made here; safe to call twice. */
  remove(): void;
}

function hostAddresses(): Set<string> {
  const out = run('ip', ['-o', '-4', 'addr', 'show']);
  return new Set([...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!));
}

/** How many sets this process made: each set's names differ from the others'. */
let setsCreated = 0;

/** `count` namespaces named after this pid, on /30s no interface of this machine holds yet. */
export function createNetnsHosts(count: number): NetnsHosts {
  requireNetns();
  // Interface names take 15 characters: sr + pid (7 at most) + this process's set + node, in base 36.
  const tag = `sr${process.pid}${(setsCreated++).toString(36)}`;
  const hostTable = `${HOST_TABLE_PREFIX}${tag}`;
  const hosts: NetnsHost[] = [];
  let hostTableMade = false;
  const remove = () => {
    process.removeListener('exit', remove);
    const errors: string[] = [];
    for (const host of hosts.splice(0)) {
      try {
        host.remove();
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    if (hostTableMade) {
      hostTableMade = false;
      try {
        run('nft', ['delete', 'table', 'ip', hostTable]);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(`could not remove every namespace piece: ${errors.join('; ')}`);
  };
  process.once('exit', () => {
    try {
      remove();
    } catch {
      /* exiting anyway */
    }
  });
  try {
    const taken = hostAddresses();
    let third = process.pid % 200;
    for (let i = 1; i <= count; i++) {
      // A /30 per node: .0 network, .1 host, .2 node, .3 broadcast; blocks of 4 in the third octet's /24.
      while (taken.has(`${NETNS_PREFIX}.${third}.1`)) third = (third + 1) % 250;
      hosts.push(createHost(`${tag}n${i.toString(36)}`, `${NETNS_PREFIX}.${third}`));
      taken.add(`${NETNS_PREFIX}.${third}.1`);
      third = (third + 1) % 250;
    }
  } catch (error) {
    remove();
    throw error;
  }
  return {
    hosts,
    exposeHostPort(port) {
      const rules = hosts
        .map((h) => `    iifname "${h.hostVeth}" ip daddr ${h.hostAddress} tcp dport ${port} dnat to 127.0.0.1:${port}`)
        .join('\n');
      for (const h of hosts) run('sysctl', ['-qw', `net.ipv4.conf.${h.hostVeth}.route_localnet=1`]);
      run(
        'nft',
        ['-f', '-'],
        `table ip ${hostTable} {\n  chain pre {\n    type nat hook prerouting priority dstnat;\n${rules}\n  }\n}\n`,
      );
      hostTableMade = true;
    },
    remove,
  };
}

function createHost(name: string, net: string): NetnsHost {
  const namespace = name;
  const hostVeth = `${name}h`;
  const nodeVeth = `${name}v`;
  const hostAddress = `${net}.1`;
  const address = `${net}.2`;
  let fault: NetnsHost['fault'] = 'none';
  let made = false;
  const inNs = (command: string, args: string[], input?: string) =>
    run('ip', ['netns', 'exec', namespace, command, ...args], input);
  const host: NetnsHost = {
    namespace,
    address,
    hostAddress,
    hostVeth,
    nodeVeth,
    get fault() {
      return fault;
    },
    exec: (command, args) => ({ command: 'ip', args: ['netns', 'exec', namespace, command, ...args] }),
    forwardToLoopback(port) {
      inNs('sysctl', ['-qw', 'net.ipv4.conf.all.route_localnet=1']);
      inNs('sysctl', ['-qw', `net.ipv4.conf.${nodeVeth}.route_localnet=1`]);
      inNs(
        'nft',
        ['-f', '-'],
        `table ip ${NODE_TABLE} {\n  chain pre {\n    type nat hook prerouting priority dstnat;\n` +
          `    ip daddr ${address} tcp dport ${port} dnat to 127.0.0.1:${port}\n  }\n}\n`,
      );
    },
    vanish() {
      // The node's end, not the host's: a host veth that goes down takes the host's route to 10.77.N.0/30
      // with it, and the host then sends the node's packets out of its default route (where a gateway
      // answers). With the far end down the host's route stays, and its packets go nowhere.
      inNs('ip', ['link', 'set', nodeVeth, 'down']);
      fault = 'vanished';
    },
    dropMedia() {
      inNs(
        'nft',
        ['-f', '-'],
        `table inet ${FAULT_TABLE} {\n` +
          `  chain in {\n    type filter hook input priority filter;\n    iifname "${nodeVeth}" meta l4proto udp drop\n  }\n` +
          `  chain out {\n    type filter hook output priority filter;\n    oifname "${nodeVeth}" meta l4proto udp drop\n  }\n}\n`,
      );
      fault = 'media-dropped';
    },
    heal() {
      if (fault === 'vanished') {
        inNs('ip', ['link', 'set', nodeVeth, 'up']);
        inNs('ip', ['route', 'replace', 'default', 'via', hostAddress]);
      }
      if (fault === 'media-dropped') inNs('nft', ['delete', 'table', 'inet', FAULT_TABLE]);
      fault = 'none';
    },
    remove() {
      if (!made) return;
      made = false;
      // The namespace takes its end of the veth pair, and so the pair, and its nftables tables with it.
      rmSync(`/etc/netns/${namespace}`, { recursive: true, force: true });
      run('ip', ['netns', 'del', namespace]);
      spawnSync('ip', ['link', 'del', hostVeth], { encoding: 'utf8' });
    },
  };
  run('ip', ['netns', 'add', namespace]);
  made = true;
  try {
    // The machine's resolver (`ip netns exec` mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf) is
    // its own loopback, where nothing serves DNS: a lookup is refused at once (ICMP on loopback is not rate
    // limited), as the host's own lookups fail at once here. The host's resolver is out of a namespace's
    // reach and a lookup would wait 5 s for it: werift's ICE gathering looks up its built-in STUN default
    // (stun.l.google.com) for every peer connection.
    mkdirSync(`/etc/netns/${namespace}`, { recursive: true });
    writeFileSync(`/etc/netns/${namespace}/resolv.conf`, 'nameserver 127.0.0.1\n');
    run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nodeVeth]);
    run('ip', ['link', 'set', nodeVeth, 'netns', namespace]);
    run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostVeth]);
    run('ip', ['link', 'set', hostVeth, 'up']);
    inNs('ip', ['link', 'set', 'lo', 'up']);
    inNs('ip', ['addr', 'add', `${address}/30`, 'dev', nodeVeth]);
    inNs('ip', ['link', 'set', nodeVeth, 'up']);
    // Its answers to the host's other addresses (Chromium may pair its eth0 address too) go back the same way.
    inNs('ip', ['route', 'add', 'default', 'via', hostAddress]);
  } catch (error) {
    host.remove();
    throw error;
  }
  return host;
}
