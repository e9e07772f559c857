import type { BUSY_ELSEWHERE, SessionLease } from '../../sessions/session-locks';

/** One instance: nobody else writes its sessions, so this process's own lock (SessionLocks) is all there is. */
export class LocalLease implements SessionLease {
  readonly shared = false;

  run<T>(_sessionId: string, work: () => Promise<T>): Promise<T> {
    return work();
  }

  runIfFree<T>(_sessionId: string, work: () => Promise<T>): Promise<T | typeof BUSY_ELSEWHERE> {
    return work();
  }

  runEachIfFree<T>(sessionIds: readonly string[], work: (free: ReadonlySet<string>) => Promise<T>): Promise<T> {
    return work(new Set(sessionIds));
  }

  detached<T>(work: () => T): T {
    return work();
  }
}
