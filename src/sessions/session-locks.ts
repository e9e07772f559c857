import { Inject, Injectable, Optional } from '@nestjs/common';
import { KeyedLock } from '../common/keyed-lock';
import { BUSY_ELSEWHERE, outsideLeases } from './store/redis-lease';

export { BUSY_ELSEWHERE };

/** A lock on one session shared by every backend instance (the Redis lease), when there are several. */
export interface SessionLease {
  run<T>(sessionId: string, work: () => Promise<T>): Promise<T>;
  /** BUSY_ELSEWHERE at once, without running `work`, while another instance holds the session. */
  runIfFree<T>(sessionId: string, work: () => Promise<T>): Promise<T | typeof BUSY_ELSEWHERE>;
}

export const SESSION_LEASE = Symbol('SessionLease');

/**
 * One writer per session id (join, rebuild, webhooks, sweep): in this process always, and across
 * instances through the lease when the store is shared. The local lock comes first, so one instance
 * queues its own writers instead of polling Redis with each of them.
 */
@Injectable()
export class SessionLocks {
  private readonly local = new KeyedLock();

  constructor(@Optional() @Inject(SESSION_LEASE) private readonly lease?: SessionLease | null) {}

  /**
   * Whether a lock-free store write (a join's) must take the lock instead. With a shared lease, never:
   * the store refuses such a write while any instance holds the lease, and a writer that has the local
   * lock but not yet the lease has not read the session yet. In memory, whenever this process holds or
   * waits for the session, since a holder may be between its read and its write.
   */
  blocksLockFreeWrites(sessionId: string): boolean {
    return !this.lease && this.local.isHeld(sessionId);
  }

  run<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    const lease = this.lease;
    return this.local.run(sessionId, lease ? () => lease.run(sessionId, work) : work);
  }

  /**
   * Like `run`, but does not wait for another instance: BUSY_ELSEWHERE when one holds the session (its
   * own writers are still waited for, in this process). For work several instances start at once on the
   * same sessions, such as a dead node's herd: each skips what another is doing instead of queueing
   * behind it.
   */
  runUnlessBusyElsewhere<T>(sessionId: string, work: () => Promise<T>): Promise<T | typeof BUSY_ELSEWHERE> {
    const lease = this.lease;
    return this.local.run(sessionId, lease ? () => lease.runIfFree(sessionId, work) : work);
  }

  /**
   * Starts work that outlives the caller's lock (a rebuild's CreateRoom, say) as if from outside it: it
   * takes the session's lock anew when it writes, instead of inheriting a lease released meanwhile.
   */
  detached<T>(work: () => T): T {
    return outsideLeases(work);
  }
}
