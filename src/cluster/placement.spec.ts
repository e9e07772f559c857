import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
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
    assert.equal(pickLeastLoaded([{ url: 'ws://x', participants: 0, sessions: 0 }, { url: 'ws://y', participants: 0, sessions: 0 }]), 'ws://x');
  });

  it('skips excluded nodes and answers undefined when none is left', () => {
    assert.equal(pickLeastLoaded(loads, new Set(['ws://c'])), 'ws://b');
    assert.equal(pickLeastLoaded(loads, new Set(['ws://a', 'ws://b', 'ws://c'])), undefined);
    assert.equal(pickLeastLoaded([]), undefined);
  });
});
