import { describe, expect, it } from '@jest/globals';
import { isCurrentWaiting, isNewerPlacement, rejoinAnswerAction } from './generation.policy';

describe('generation policy', () => {
  it('a rejoin push moves the room only for a newer generation (a late or repeated push is stale)', () => {
    expect(isNewerPlacement(3, 2)).toBe(true);
    expect(isNewerPlacement(2, 2)).toBe(false);
    expect(isNewerPlacement(1, 2)).toBe(false);
    expect(isNewerPlacement(1, undefined)).toBe(true);
  });

  it('a waiting-for-node push about an older generation is ignored', () => {
    expect(isCurrentWaiting(2, 2)).toBe(true);
    expect(isCurrentWaiting(3, 2)).toBe(true);
    expect(isCurrentWaiting(1, 2)).toBe(false);
  });

  describe(rejoinAnswerAction.name, () => {
    const room = { url: 'ws://a', generation: 2, replacedSinceLoss: false, connected: false };

    it('an older answer is ignored; so is the same generation once another move replaced the lost room', () => {
      expect(rejoinAnswerAction({ url: 'ws://b', generation: 1 }, room)).toBe('ignore');
      expect(rejoinAnswerAction({ url: 'ws://b', generation: 2 }, { ...room, replacedSinceLoss: true })).toBe('ignore');
    });

    it('the same node and generation while connected again: the node only blipped', () => {
      expect(rejoinAnswerAction({ url: 'ws://a', generation: 2 }, { ...room, connected: true })).toBe('resumed');
    });

    it('a newer generation, or the same one not connected, moves', () => {
      expect(
        rejoinAnswerAction({ url: 'ws://b', generation: 3 }, { ...room, replacedSinceLoss: true, connected: true }),
      ).toBe('move');
      expect(rejoinAnswerAction({ url: 'ws://a', generation: 2 }, room)).toBe('move');
    });
  });
});
