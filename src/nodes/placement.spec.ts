import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import { pickLeastLoaded } from './placement';

describe(pickLeastLoaded.name, () => {
  const loads = [
    { url: 'ws://a', participants: 4, sessions: 1 },
    { url: 'ws://b', participants: 2, sessions: 2 },
    { url: 'ws://c', participants: 2, sessions: 1 },
  ];

  it('takes the node with the fewest participants, then fewest sessions', () => {
    assert.equal(pickLeastLoaded(loads), 'ws://c');
  });

  it('keeps configuration order on a full tie', () => {
    assert.equal(
      pickLeastLoaded([
        { url: 'ws://x', participants: 0, sessions: 0 },
        { url: 'ws://y', participants: 0, sessions: 0 },
      ]),
      'ws://x',
    );
  });

  it('skips excluded nodes and answers undefined when none is left', () => {
    assert.equal(pickLeastLoaded(loads, new Set(['ws://c'])), 'ws://b');
    assert.equal(pickLeastLoaded(loads, new Set(['ws://a', 'ws://b', 'ws://c'])), undefined);
    assert.equal(pickLeastLoaded([]), undefined);
  });

  it("weighs the session about to be placed against each node's capacity", () => {
    // A 3-person session fits on b (2 + 3 <= 5) but not on a (4 + 3 > 5); c is excluded.
    expect(pickLeastLoaded(loads, new Set(['ws://c']), 3, 5)).toBe('ws://b');
    expect(pickLeastLoaded(loads, new Set(['ws://c']), 4, 5)).toBeUndefined();
  });

  it('skips a node whose sessions are at --max-sessions-per-node', () => {
    const bySessions = [
      { url: 'ws://a', participants: 0, sessions: 2 },
      { url: 'ws://b', participants: 9, sessions: 1 },
    ];
    expect(pickLeastLoaded(bySessions, new Set(), 1, undefined, 3)).toBe('ws://a'); // a: 2 + 1 <= 3
    expect(pickLeastLoaded(bySessions, new Set(), 1, undefined, 2)).toBe('ws://b'); // a is full, b has room
    expect(pickLeastLoaded(bySessions, new Set(), 1, undefined, 1)).toBeUndefined();
  });
});
