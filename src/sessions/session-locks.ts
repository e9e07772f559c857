import { Inject, Injectable } from '@nestjs/common';
import { KeyedLock } from '../common/keyed-lock';

/** What `runIfFree` answers when another instance holds the session. */
export const BUSY_ELSEWHERE = Symbol('BusyElsewhere');

/**
 * A lock on one session across every backend instance that shares the store (the backplane's: a Redis
 * lease, or nothing to share in one process). SessionLocks puts this process's own lock in front of it.
 */
export interface SessionLease {
  /** Whether other instances write the same sessions (then a lock-free write is fenced by the store itself). */
  readonly shared: boolean;
  run<T>(sessionId: string, work: () => Promise<T>): Promise<T>;
  /** BUSY_ELSEWHERE at once, without running `work`, while another instance holds the session. */
  runIfFree<T>(sessionId: string, work: () => Promise<T>): Promise<T | typeof BUSY_ELSEWHERE>;
  /**
   * `runIfFree` for many sessions at once (a dead node's herd, a batch at a time): their leases asked for
   * together, one round trip, and `work` run holding those it got, told which (the others are held elsewhere).
   */
  runEachIfFree<T>(sessionIds: readonly string[], work: (free: ReadonlySet<string>) => Promise<T>): Promise<T>;
  /** Runs `work` outside every lease the caller holds: background work must take its own. */
  detached<T>(work: () => T): T;
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

  constructor(@Inject(SESSION_LEASE) private readonly lease: SessionLease) {}

  /**
   * Whether a lock-free store write (a join's) must take the lock instead. With a shared lease, never:
   * the store refuses such a write while any instance holds the lease, and a writer that has the local
   * lock but not yet the lease has not read the session yet. In memory, whenever this process holds or
   * waits for the session, since a holder may be between its read and its write.
   */
  blocksLockFreeWrites(sessionId: string): boolean {
    return !this.lease.shared && this.local.isHeld(sessionId);
  }

  run<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    return this.local.run(sessionId, () => this.lease.run(sessionId, work));
  }

  /**
   * Like `run`, but does not wait for another instance: BUSY_ELSEWHERE when one holds the session (its
   * own writers are still waited for, in this process). For work several instances start at once on the
   * same sessions, such as a dead node's herd: each skips what another is doing instead of queueing
   * behind it.
   */
  runUnlessBusyElsewhere<T>(sessionId: string, work: () => Promise<T>): Promise<T | typeof BUSY_ELSEWHERE> {
    return this.local.run(sessionId, () => this.lease.runIfFree(sessionId, work));
  }

  /** Whether a writer of this process holds or waits for the session (a herd's batch leaves it to its own move). */
  busyHere(sessionId: string): boolean {
    return this.local.isHeld(sessionId);
  }

  /**
   * `runUnlessBusyElsewhere` for a batch of sessions, in one lease round trip: `work` runs once this
   * process's own writers of every one of them are done, holding the leases of those no other instance
   * holds (`free`).
   */
  runEachUnlessBusyElsewhere<T>(
    sessionIds: readonly string[],
    work: (free: ReadonlySet<string>) => Promise<T>,
  ): Promise<T> {
    return this.local.runAll(sessionIds, () => this.lease.runEachIfFree(sessionIds, work));
  }

  /**
   * Starts work that outlives the caller's lock (a rebuild's CreateRoom, say) as if from outside it: it
   * takes the session's lock anew when it writes, instead of inheriting a lease released meanwhile.
   */
  detached<T>(work: () => T): T {
    return this.lease.detached(work);
  }
}
