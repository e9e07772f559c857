/**
 * Keys ordered by deadline (the memory store's counterpart of a Redis sorted set): `due` answers the
 * keys whose deadline has passed without looking at the others. A min-heap with lazy deletion: a heap
 * entry counts only while the map still gives its key that deadline.
 */
export class DeadlineIndex {
  private readonly deadlines = new Map<string, number>();
  private heap: Array<[deadline: number, key: string]> = [];

  get size(): number {
    return this.deadlines.size;
  }

  set(key: string, deadline: number): void {
    if (this.deadlines.get(key) === deadline) return;
    this.deadlines.set(key, deadline);
    this.push([deadline, key]);
    // Stale entries pile up as deadlines move: rebuilt from the map once they are most of the heap.
    if (this.heap.length > 2 * this.deadlines.size + 64) this.rebuild();
  }

  delete(key: string): void {
    this.deadlines.delete(key);
  }

  get(key: string): number | undefined {
    return this.deadlines.get(key);
  }

  /** Up to `limit` keys whose deadline is at or before `now`, earliest first; they stay in the index. */
  due(now: number, limit: number): string[] {
    const found: Array<[number, string]> = [];
    const seen = new Set<string>();
    while (this.heap.length > 0 && this.heap[0]![0] <= now && found.length < limit) {
      const top = this.pop();
      if (this.deadlines.get(top[1]) !== top[0] || seen.has(top[1])) continue;
      seen.add(top[1]);
      found.push(top);
    }
    for (const entry of found) this.push(entry);
    return found.map(([, key]) => key);
  }

  private rebuild(): void {
    this.heap = [];
    for (const [key, deadline] of this.deadlines) this.push([deadline, key]);
  }

  private push(entry: [number, string]): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]![0] <= heap[i]![0]) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  private pop(): [number, string] {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left]![0] < heap[smallest]![0]) smallest = left;
        if (right < heap.length && heap[right]![0] < heap[smallest]![0]) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}
