import { describe, expect, it } from '@jest/globals';
import { DeadlineIndex } from './deadline-index';

describe(DeadlineIndex.name, () => {
  it('answers the keys due, earliest first, up to the limit, and keeps them', () => {
    const index = new DeadlineIndex();
    index.set('c', 30);
    index.set('a', 10);
    index.set('b', 20);
    expect(index.due(9, 10)).toEqual([]);
    expect(index.due(20, 10)).toEqual(['a', 'b']);
    expect(index.due(30, 2)).toEqual(['a', 'b']);
    expect(index.due(30, 10)).toEqual(['a', 'b', 'c']);
  });

  it('a key moved or deleted is due at its new deadline only, once', () => {
    const index = new DeadlineIndex();
    index.set('a', 10);
    index.set('a', 50);
    index.set('b', 20);
    index.set('b', 10);
    index.set('b', 20);
    index.delete('c');
    index.set('c', 5);
    index.delete('c');
    expect(index.due(30, 10)).toEqual(['b']);
    expect(index.due(50, 10)).toEqual(['b', 'a']);
    expect(index.size).toBe(2);
  });

  it('agrees with a plain scan over thousands of random writes', () => {
    let seed = 42;
    const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    const index = new DeadlineIndex();
    const plain = new Map<string, number>();
    for (let step = 0; step < 20_000; step++) {
      const key = `k${random(500)}`;
      if (random(4) === 0) {
        index.delete(key);
        plain.delete(key);
      } else {
        const deadline = random(10_000);
        index.set(key, deadline);
        plain.set(key, deadline);
      }
      if (step % 500 === 0) {
        const now = random(10_000);
        const expected = [...plain].filter(([, d]) => d <= now).sort((l, r) => l[1] - r[1]);
        const due = index.due(now, 10_000);
        expect(due.map((k) => plain.get(k))).toEqual(expected.map(([, d]) => d));
        expect(new Set(due)).toEqual(new Set(expected.map(([k]) => k)));
      }
    }
  });
});
