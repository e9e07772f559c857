// A worker pool for LiveKit's own cluster. LiveKit dispatches a job only to a worker connected to some
// live node, and a worker connected to a node that dies has no registration until it reconnects (the
// SDK retries every 2-10 s), so a pool reached through the cluster URL alone, which the balancer may put
// all on one node, can miss the dispatch of a room re-created after that node's death. Here the worker
// registers once with each member, at the address LiveKit's registry gives it, and keeps that list as
// members come and go.
import type { LiveKitRegistry } from './livekit-registry.js';

/** How often LiveKit's `nodes` is read: a node rewrites its entry every 2 s, a new one appears at its start. */
export const MEMBER_POLL_MS = 1_000;
/**
 * A member out of `nodes` this long has its registration closed (once it runs no job): a node restarted
 * at the same address is back well within it, and its registration reconnects by itself meanwhile.
 */
export const MEMBER_FORGET_MS = 60_000;

/** One registration of the worker with one member. */
export interface Registration {
  readonly url: string;
  /** Jobs it runs now (whatever node their rooms are on). */
  activeJobs(): number;
  close(): Promise<void>;
}

interface Log {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export class MemberRegistrations {
  private readonly byUrl = new Map<string, { registration: Registration; goneSince?: number }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readFailing = false;

  constructor(
    private readonly registry: LiveKitRegistry,
    private readonly nodePort: number,
    private readonly register: (memberUrl: string) => Registration,
    private readonly log: Log,
  ) {}

  /** Reads the members now, then every MEMBER_POLL_MS. */
  start(): void {
    const turn = () => {
      void this.sync().finally(() => {
        if (!this.closed) this.timer = setTimeout(turn, MEMBER_POLL_MS);
      });
    };
    turn();
  }

  urls(): string[] {
    return [...this.byUrl.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all([...this.byUrl.values()].map(({ registration }) => registration.close()));
    this.byUrl.clear();
  }

  private async sync(): Promise<void> {
    let members;
    try {
      members = await this.registry.members();
      this.readFailing = false;
    } catch (error) {
      if (!this.readFailing) this.log.warn({ event: 'registry-unreadable' }, (error as Error).message);
      this.readFailing = true;
      return;
    }
    if (this.closed) return;
    const now = Date.now();
    const present = new Set<string>();
    for (const { id, ip } of members) {
      const url = `ws://${ip.includes(':') ? `[${ip}]` : ip}:${this.nodePort}`;
      present.add(url);
      const known = this.byUrl.get(url);
      if (known) {
        known.goneSince = undefined;
        continue;
      }
      this.log.info(
        { event: 'member-found', memberUrl: url, nodeId: id },
        `cluster member ${id}: registering with ${url}`,
      );
      this.byUrl.set(url, { registration: this.register(url) });
    }
    for (const [url, known] of this.byUrl) {
      if (present.has(url)) continue;
      known.goneSince ??= now;
      if (now - known.goneSince < MEMBER_FORGET_MS || known.registration.activeJobs() > 0) continue;
      this.byUrl.delete(url);
      this.log.info(
        { event: 'member-forgotten', memberUrl: url },
        `cluster member ${url} left LiveKit's registry: its registration closed`,
      );
      await known.registration.close();
    }
  }
}
