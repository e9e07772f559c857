import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The block a cluster's nodes take their addresses from, lowest free first. Nothing else here uses it:
 * specs put clients on 127.0.0.11-12 and scripted nodes on 127.0.0.21-23.
 */
export const LOOPBACK_BLOCK = { prefix: '127.0.0.', first: 41, last: 99 } as const;
/** One lock file per address in use, holding the owner's pid: clusters started at once never share one. */
const LOCK_DIR = join(tmpdir(), 'session-rebuilder-loopback');

export interface LoopbackAddresses {
  readonly addresses: string[];
  /** Removes from `lo` the addresses added here (only those) and frees their locks; safe to call twice. */
  release(): void;
}

interface Claim {
  address: string;
  /** Added to `lo` by this claim (so removed by it), rather than found there. */
  added: boolean;
}

/**
 * `count` addresses of LOOPBACK_BLOCK held by `lo`, each for this process alone. LiveKit offers ICE
 * candidates only on addresses an interface holds, and 127.0.0.0/8 on `lo` is a route, not an address:
 * a missing one is added (`ip addr add 127.0.0.x/32 dev lo`, as root). An address already on `lo` is
 * used as it is when no other cluster holds its lock and `isFree(address)` says nothing listens there.
 * Throws, with the exact commands to run as root, when adding is refused: never a silent fallback.
 */
export async function claimLoopbackAddresses(
  count: number,
  isFree: (address: string) => Promise<boolean>,
): Promise<LoopbackAddresses> {
  const claims: Claim[] = [];
  const release = () => {
    process.removeListener('exit', release);
    for (const claim of claims.splice(0)) {
      if (claim.added) ip(['addr', 'del', `${claim.address}/32`, 'dev', 'lo']);
      unlock(claim.address);
    }
  };
  // A supervisor that crashes still gives its addresses back (a SIGKILLed one cannot: the next run reuses them).
  process.once('exit', release);
  try {
    const held = addressesOnLo();
    for (let n = LOOPBACK_BLOCK.first; n <= LOOPBACK_BLOCK.last && claims.length < count; n++) {
      const address = `${LOOPBACK_BLOCK.prefix}${n}`;
      if (!lock(address)) continue;
      let added = false;
      if (!held.has(address)) {
        const result = ip(['addr', 'add', `${address}/32`, 'dev', 'lo']);
        if (result.status === 0) added = true;
        else if (!/File exists|already assigned/i.test(result.output)) {
          unlock(address);
          const wanted = Array.from({ length: count - claims.length }, (_, i) => `${LOOPBACK_BLOCK.prefix}${n + i}`);
          throw new Error(
            `could not add ${address} to lo (${result.output.trim() || `ip exited with ${result.status}`}). ` +
              `LiveKit offers ICE candidates only on addresses an interface holds, so each node's address must be on lo: ` +
              `run as root, or add them once as root: ${wanted.map((a) => `ip addr add ${a}/32 dev lo`).join(' && ')}`,
          );
        }
      }
      const claim = { address, added };
      if (added || (await isFree(address))) claims.push(claim);
      else unlock(address);
    }
    if (claims.length < count)
      throw new Error(
        `only ${claims.length} of ${count} addresses of ${LOOPBACK_BLOCK.prefix}${LOOPBACK_BLOCK.first}-${LOOPBACK_BLOCK.last} are free for a cluster's nodes`,
      );
  } catch (error) {
    release();
    throw error;
  }
  return { addresses: claims.map((claim) => claim.address), release };
}

function ip(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.error)
    throw new Error(`the ip command could not run (${result.error.message}); Debian: apt-get install iproute2`);
  return { status: result.status, output: `${result.stderr}${result.stdout}` };
}

function addressesOnLo(): Set<string> {
  const { status, output } = ip(['-o', '-4', 'addr', 'show', 'dev', 'lo']);
  if (status !== 0) throw new Error(`ip addr show dev lo failed: ${output.trim()}`);
  return new Set([...output.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((match) => match[1]!));
}

function lockPath(address: string): string {
  return join(LOCK_DIR, address);
}

/** Takes the address's lock, or answers false while a live process holds it (a dead one's lock is taken over). */
function lock(address: string): boolean {
  if (mkdirSync(LOCK_DIR, { recursive: true }) !== undefined) {
    // Like /tmp: every user may take a lock, only its owner may remove it.
    chmodSync(LOCK_DIR, 0o1777);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath(address), String(process.pid), { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (processAlive(Number(readOrEmpty(lockPath(address))))) return false;
      try {
        unlinkSync(lockPath(address));
      } catch {
        /* another run took it over first */
      }
    }
  }
  return false;
}

function unlock(address: string): void {
  if (readOrEmpty(lockPath(address)) !== String(process.pid)) return;
  try {
    unlinkSync(lockPath(address));
  } catch {
    /* already gone */
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
