/** How long an applied webhook id is remembered: the life of the webhook's signature, after which a replay is refused anyway. */
export const REMEMBER_EVENT_ID_MS = 10 * 60_000;
/** Ids remembered at most; the oldest go first (a burst of events must not grow memory without bound). */
export const MAX_REMEMBERED_EVENT_IDS = 50_000;

/** Webhook ids already applied, so a retried delivery of the same event is applied once. */
export class RecentEventIds {
  /** id -> when it was applied; Map order is insertion order, oldest first. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly rememberMs = REMEMBER_EVENT_ID_MS,
    private readonly max = MAX_REMEMBERED_EVENT_IDS,
  ) {}

  has(id: string): boolean {
    this.forgetOld();
    return this.seen.has(id);
  }

  add(id: string): void {
    this.seen.delete(id);
    this.seen.set(id, this.now());
    this.forgetOld();
  }

  delete(id: string): void {
    this.seen.delete(id);
  }

  get size(): number {
    return this.seen.size;
  }

  private forgetOld(): void {
    const cutoff = this.now() - this.rememberMs;
    for (const [id, at] of this.seen) {
      if (at > cutoff && this.seen.size <= this.max) break;
      this.seen.delete(id);
    }
  }
}
