import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { redisKeys } from './redis-keys';
import { RedisScript } from './redis-script';
import { BUSY_ELSEWHERE, type SessionLease } from '../../sessions/session-locks';
import { StoreUnavailableError } from '../../sessions/store/store.errors';

/**
 * A lease this long survives its holder by at most that much: an instance that dies in the middle of
 * a rebuild blocks the session for under a second, then the next instance waiting on it finishes the
 * job (it re-reads the session and finds it still on the dead node). Renewed every RENEW_MS while the
 * work runs, so a slow rebuild keeps it; a holder whose event loop stalls past the lease loses it, and
 * its writes are refused (the store fences every write with the lease).
 */
export const LEASE_MS = 1_000;
const RENEW_MS = 250;
const RETRY_MS = 15;
/** Waiting longer than this for one session means something is wrong: the request fails with 503. */
const ACQUIRE_TIMEOUT_MS = 10_000;

export interface LeaseHolder {
  key: string;
  token: string;
  /** Set once the work is done: work it started that outlives it (queued, say) must not write with it. */
  released?: boolean;
}

const held = new AsyncLocalStorage<Map<string, LeaseHolder>>();

/** The lease the current async context holds on this session, if any (read by the store's writes). */
export function currentLease(sessionId: string): LeaseHolder | undefined {
  const lease = held.getStore()?.get(sessionId);
  return lease?.released ? undefined : lease;
}

/**
 * Runs `work` outside every lease of the caller: for background work started while a lease is held,
 * which must take its own (it may run after the caller's is released, or beside the holder's writes).
 */
export function outsideLeases<T>(work: () => T): T {
  return held.exit(work);
}

const RENEW = new RedisScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`,
);
const RELEASE = new RedisScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
);

/** One writer per session across every backend instance: a Redis lease (SET NX PX), renewed while held. */
export class RedisLease implements SessionLease {
  readonly shared = true;

  constructor(private readonly redis: Redis) {}

  detached<T>(work: () => T): T {
    return outsideLeases(work);
  }

  run<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    return this.runHeld(sessionId, work, true) as Promise<T>;
  }

  /** Like `run`, but answers BUSY_ELSEWHERE at once, without running `work`, when another holder has the lease. */
  runIfFree<T>(sessionId: string, work: () => Promise<T>): Promise<T | typeof BUSY_ELSEWHERE> {
    return this.runHeld(sessionId, work, false);
  }

  /**
   * The batch's leases asked for in one turn (one write on the auto-pipelined connection, one round trip),
   * renewed together while `work` runs, released together after it, each as `run` does its own.
   */
  async runEachIfFree<T>(sessionIds: readonly string[], work: (free: ReadonlySet<string>) => Promise<T>): Promise<T> {
    const ids = [...new Set(sessionIds)];
    // Re-entrant as `run`: a session whose lease this context holds is free to it.
    const mine = ids.filter((id) => currentLease(id));
    const asked = ids
      .filter((id) => !currentLease(id))
      .map((id) => {
        const lease: LeaseHolder = { key: redisKeys.lease(id), token: randomBytes(12).toString('base64url') };
        return { id, lease };
      });
    const answers = await Promise.allSettled(
      asked.map(({ lease }) => this.redis.set(lease.key, lease.token, 'PX', LEASE_MS, 'NX')),
    );
    const got = asked.filter((_, i) => {
      const answer = answers[i]!;
      return answer.status === 'fulfilled' && answer.value === 'OK';
    });
    const release = () => {
      for (const { lease } of got) {
        lease.released = true;
        void RELEASE.run(this.redis, [lease.key], [lease.token]).catch(() => undefined);
      }
    };
    const failed = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
    if (failed) {
      release();
      throw new StoreUnavailableError(failed.reason);
    }
    const renewal = setInterval(() => {
      for (const { lease } of got)
        void RENEW.run(this.redis, [lease.key], [lease.token, LEASE_MS]).catch(() => undefined);
    }, RENEW_MS);
    try {
      const leases = new Map(held.getStore() ?? []);
      for (const { id, lease } of got) leases.set(id, lease);
      return await held.run(leases, () => work(new Set([...mine, ...got.map(({ id }) => id)])));
    } finally {
      clearInterval(renewal);
      release();
    }
  }

  private async runHeld<T>(
    sessionId: string,
    work: () => Promise<T>,
    wait: boolean,
  ): Promise<T | typeof BUSY_ELSEWHERE> {
    // Re-entrant within one async context, while the lease is held: a released one is never reused.
    if (currentLease(sessionId)) return work();
    const lease: LeaseHolder = { key: redisKeys.lease(sessionId), token: randomBytes(12).toString('base64url') };
    if (!(await this.acquire(lease, wait))) return BUSY_ELSEWHERE;
    const renewal = setInterval(
      () => void RENEW.run(this.redis, [lease.key], [lease.token, LEASE_MS]).catch(() => undefined),
      RENEW_MS,
    );
    try {
      const leases = new Map(held.getStore() ?? []);
      leases.set(sessionId, lease);
      return await held.run(leases, work);
    } finally {
      lease.released = true;
      clearInterval(renewal);
      // Not waited for: the holder's writes are done, and this connection sends commands in order, so
      // this instance's next SET NX on the session reaches Redis after the release. Another instance
      // finds it free a round trip sooner than it could ask; a release that fails expires in LEASE_MS.
      // (Waiting cost every locked write, a herd's rebuilds included, one more round trip.)
      void RELEASE.run(this.redis, [lease.key], [lease.token]).catch(() => undefined);
    }
  }

  /** True once held; false when it is taken and `wait` is false. */
  private async acquire(lease: LeaseHolder, wait: boolean): Promise<boolean> {
    const deadline = Date.now() + ACQUIRE_TIMEOUT_MS;
    for (;;) {
      let acquired: string | null;
      try {
        acquired = await this.redis.set(lease.key, lease.token, 'PX', LEASE_MS, 'NX');
      } catch (error) {
        throw new StoreUnavailableError(error);
      }
      if (acquired === 'OK') return true;
      if (!wait) return false;
      if (Date.now() > deadline)
        throw new StoreUnavailableError(
          new Error(`session lease ${lease.key} still held by another instance after ${ACQUIRE_TIMEOUT_MS} ms`),
        );
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}
