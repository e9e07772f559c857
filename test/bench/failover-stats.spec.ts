import { describe, expect, it } from '@jest/globals';
import { RecoveryDetector } from './failover-stats';

describe(RecoveryDetector.name, () => {
  const POLL = 250;
  const STEADY = 3_000;
  const before = [{ key: 'bob/TR_1/track-a', framesDecoded: 900 }];

  it('frames still draining after the kill are not a recovery (the 290 ms the old baseline printed)', () => {
    const detector = new RecoveryDetector(before, POLL, STEADY);
    // The jitter buffer drains a few frames, then the picture freezes for good.
    expect(detector.observe([{ key: 'bob/TR_1/track-a', framesDecoded: 904 }], 250)).toBeUndefined();
    expect(detector.observe([{ key: 'bob/TR_1/track-a', framesDecoded: 906 }], 500)).toBeUndefined();
    for (let at = 750; at <= 45_000; at += POLL)
      expect(detector.observe([{ key: 'bob/TR_1/track-a', framesDecoded: 906 }], at)).toBeUndefined();
  });

  it('a receiver that did not exist before the kill, decoding, is a recovery at once', () => {
    const detector = new RecoveryDetector(before, POLL, STEADY);
    expect(detector.observe([], 250)).toBeUndefined();
    expect(detector.observe([{ key: 'bob/TR_2/track-b', framesDecoded: 0 }], 12_000)).toBeUndefined();
    expect(detector.observe([{ key: 'bob/TR_2/track-b', framesDecoded: 3 }], 12_250)).toEqual({
      at: 12_250,
      evidence: 'new receiver bob/TR_2/track-b decoding',
    });
  });

  it('the old receivers decoding without a pause for the steady time is a recovery, dated from when it started', () => {
    const detector = new RecoveryDetector(before, POLL, STEADY);
    let frames = 900;
    let result;
    // Frozen until 5 s, then decoding again on the same receiver (a resumed connection).
    for (let at = POLL; at <= 5_000; at += POLL)
      expect(detector.observe([{ key: 'bob/TR_1/track-a', framesDecoded: frames }], at)).toBeUndefined();
    for (let at = 5_250; !result && at < 10_000; at += POLL)
      result = detector.observe([{ key: 'bob/TR_1/track-a', framesDecoded: (frames += 4) }], at);
    expect(result).toEqual({ at: 5_000, evidence: `old receivers decoding without a pause for ${STEADY} ms` });
  });
});
