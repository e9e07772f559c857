/** Runs async work one at a time per key (read-modify-write of one session never interleaves). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Someone holds or waits for the key. */
  isHeld(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.runAll([key], work);
  }

  /**
   * `work` once every key is free, holding them all. Queued on every key in the same turn, so two callers
   * whose keys overlap queue in one order on each: no deadlock, whatever the order of the keys.
   */
  runAll<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    const previous =
      unique.length === 1
        ? (this.tails.get(unique[0]!) ?? Promise.resolve())
        : Promise.all(unique.map((key) => this.tails.get(key) ?? Promise.resolve()));
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    for (const key of unique) {
      this.tails.set(key, tail);
      void tail.then(() => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
    }
    return result;
  }
}

/** Concurrent callers for the same key share one in-flight promise. */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const promise = work().finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  isRunning(key: string): boolean {
    return this.inflight.has(key);
  }

  get size(): number {
    return this.inflight.size;
  }
}
