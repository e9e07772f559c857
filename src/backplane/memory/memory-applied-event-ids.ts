import type { AppliedEventIds } from '../../webhooks/applied-event-ids';
import { RecentEventIds } from '../../webhooks/recent-event-ids';

/** One instance, no Redis: the ids in this process. */
export class MemoryAppliedEventIds implements AppliedEventIds {
  private readonly ids: RecentEventIds;

  constructor(now: () => number) {
    this.ids = new RecentEventIds(now);
  }

  async claim(id: string): Promise<boolean> {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    return true;
  }

  async applied(id: string): Promise<void> {
    this.ids.add(id);
  }

  async release(id: string): Promise<void> {
    this.ids.delete(id);
  }
}
