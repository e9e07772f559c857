interface Waiting {
  priority: number;
  order: number;
  start: () => void;
}

/**
 * Runs at most `concurrency` tasks at once. Waiting tasks start highest priority first, then in the order
 * they arrived. A task's failure is its caller's: it rejects that caller's promise and frees the slot.
 */
export class BoundedWorkQueue {
  private running = 0;
  private arrivals = 0;
  private readonly waiting: Waiting[] = [];

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  run<T>(priority: number, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        Promise.resolve()
          .then(work)
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.waiting.shift()?.start();
          });
      };
      if (this.running < this.concurrency) return start();
      const entry = { priority, order: this.arrivals++, start };
      // Sorted insert: highest priority first, arrival order among equals (a herd is hundreds, not millions).
      const at = this.waiting.findIndex((w) => w.priority < priority);
      this.waiting.splice(at === -1 ? this.waiting.length : at, 0, entry);
    });
  }
}
