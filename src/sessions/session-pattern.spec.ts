import { performance } from 'node:perf_hooks';
import { describe, expect, it } from '@jest/globals';
import { matchesSessionPattern } from './session-pattern';

/** The longest pattern a join token may hold and the longest session id (SESSION_ID_PATTERN). */
const MAX_LENGTH = 128;
const WITHIN_MS = 50;

function timed(pattern: string, id: string): { matched: boolean; ms: number } {
  const start = performance.now();
  const matched = matchesSessionPattern(pattern, id);
  return { matched, ms: performance.now() - start };
}

/** The meaning a pattern had as a RegExp, for short inputs only (it backtracks exponentially on stars). */
function byRegExp(pattern: string, id: string): boolean {
  return new RegExp(`^${pattern.replace(/\*/g, '[A-Za-z0-9_-]*')}$`).test(id);
}

describe(matchesSessionPattern.name, () => {
  it('prefix, suffix, middle, exact, empty runs', () => {
    const cases: Array<[string, string, boolean]> = [
      ['team-*', 'team-red', true],
      ['team-*', 'team-', true], // a star matches the empty run
      ['team-*', 'team', false],
      ['team-*', 'xteam-red', false],
      ['*-standup', 'blue-standup', true],
      ['*-standup', 'blue-standup2', false],
      ['a*z', 'a-middle-z', true],
      ['a*z', 'az', true],
      ['a*z', 'a-middle-y', false],
      ['a**b', 'ab', true],
      ['standup', 'standup', true],
      ['standup', 'standup2', false],
      ['standup', 'Standup', false],
      ['*', 'anything_at-all', true],
      ['*a*b*', 'xxaxxbxx', true],
      ['*a*b*', 'xxbxxaxx', false],
      ['t*m-*-r*d', 'team-x-red', true],
      ['*', 'not.an.id', false], // a star matches id characters only
    ];
    for (const [pattern, id, expected] of cases)
      expect([pattern, id, matchesSessionPattern(pattern, id)]).toEqual([pattern, id, expected]);
  });

  it('agrees with the RegExp it replaces on every short pattern and id over a, b and *', () => {
    const words = (alphabet: string[], maxLength: number): string[] => {
      let level = [''];
      const all = [''];
      for (let length = 1; length <= maxLength; length++) {
        level = level.flatMap((word) => alphabet.map((c) => word + c));
        all.push(...level);
      }
      return all;
    };
    const patterns = words(['a', 'b', '*'], 5).filter((p) => p.length > 0);
    const ids = words(['a', 'b'], 6);
    let compared = 0;
    for (const pattern of patterns) {
      for (const id of ids) {
        if (matchesSessionPattern(pattern, id) !== byRegExp(pattern, id))
          throw new Error(
            `${pattern} against "${id}": ${!byRegExp(pattern, id)}, the RegExp says ${byRegExp(pattern, id)}`,
          );
        compared++;
      }
    }
    expect(compared).toBe(363 * 127);
  });

  const longestId = 'a'.repeat(MAX_LENGTH);
  const worst: Array<[string, string, string]> = [
    ["six stars then Z (the review's 49.6 s)", '******Z', longestId],
    ['64 stars then Z', '*'.repeat(64) + 'Z', longestId],
    ['127 stars then Z (the longest pattern)', '*'.repeat(MAX_LENGTH - 1) + 'Z', longestId],
    ['a*a*...a*aZ (the longest pattern)', 'a*'.repeat(63) + 'aZ', longestId],
    ['*a*a...*a against an id ending in b', '*a'.repeat(64), 'a'.repeat(MAX_LENGTH - 1) + 'b'],
  ];
  it.each(worst)(
    `answers within ${WITHIN_MS} ms for %s against a ${MAX_LENGTH}-character id that does not match`,
    (_, pattern, id) => {
      expect(pattern.length).toBeLessThanOrEqual(MAX_LENGTH);
      const { matched, ms } = timed(pattern, id);
      expect(matched).toBe(false);
      expect(ms).toBeLessThan(WITHIN_MS);
    },
  );
});
