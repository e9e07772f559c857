const ID_CHARACTERS = /^[A-Za-z0-9_-]*$/;

/**
 * Whether a join token's pattern covers a session id: `*` matches any run of id characters (`team-*`),
 * everything else is literal. Two pointers that go back to the last star on a mismatch: at most
 * pattern × id steps (16k at the 128-character limits). The RegExp this replaces backtracked through
 * every way to split the id between the stars: `******Z` took 50 s against a 128-character id.
 */
export function matchesSessionPattern(pattern: string, id: string): boolean {
  // A pattern's literals are id characters and a star matches only those: any other character matches nothing.
  if (!ID_CHARACTERS.test(id)) return false;
  let p = 0;
  let i = 0;
  let star = -1; // the last star seen, and where in the id its run ends so far
  let runEnd = 0;
  while (i < id.length) {
    if (pattern[p] === '*') {
      star = p++;
      runEnd = i;
    } else if (p < pattern.length && pattern[p] === id[i]) {
      p++;
      i++;
    } else if (star >= 0) {
      // The last star takes one more character. Earlier stars never need to: whatever longer run they
      // could take, the last star can take instead, since a star matches any run.
      p = star + 1;
      i = ++runEnd;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
