import { describe, expect, it } from '@jest/globals';
import {
  BACKEND_RETRY_BACKOFF,
  NO_NODE_RETRY_BACKOFF,
  QuickResumePolicy,
  SDK_RESUME_DELAYS_MS,
  backoffDelayMs,
} from './backoff.policy';

describe(backoffDelayMs.name, () => {
  it('doubles from the base up to the cap, with half of each delay fixed and half random', () => {
    const low = (attempt: number) => backoffDelayMs(attempt, NO_NODE_RETRY_BACKOFF, () => 0);
    const high = (attempt: number) => backoffDelayMs(attempt, NO_NODE_RETRY_BACKOFF, () => 1);
    expect([0, 1, 2, 3, 4, 10].map(low)).toEqual([250, 500, 1_000, 2_000, 2_500, 2_500]);
    expect([0, 1, 2, 3, 4, 10].map(high)).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('never retries in a tight loop nor waits past the cap, whatever the random source says', () => {
    for (const settings of [BACKEND_RETRY_BACKOFF, NO_NODE_RETRY_BACKOFF]) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const delay = backoffDelayMs(attempt, settings);
        expect(delay).toBeGreaterThanOrEqual(settings.baseMs / 2);
        expect(delay).toBeLessThanOrEqual(settings.capMs);
      }
    }
  });

  it('spreads clients of one session apart (no lockstep retries)', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(3, BACKEND_RETRY_BACKOFF)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe(QuickResumePolicy.name, () => {
  it('lets the SDK try a quick resume, then gives up instead of its ~40 s backoff against a dead URL', () => {
    const policy = new QuickResumePolicy();
    const delays = [0, 1, 2, 3].map((retryCount) => policy.nextRetryDelayInMs({ retryCount, elapsedMs: 0 }));
    expect(delays).toEqual([...SDK_RESUME_DELAYS_MS, null, null]);
  });
});
