// describe.each over the topologies TEST_ENGINES selects (test/support/engines.ts), for specs only:
// benchmarks load engines.ts outside Jest.
import { describe, it } from '@jest/globals';
import { TOPOLOGIES, TOPOLOGY_NAMES, type Topology } from './engines';

/**
 * `describe.each` over the topologies of `covers` that TEST_ENGINES selects, titled with each one's
 * name. `describe.each` fails on an empty table and a file must hold a test, so a run narrowed to none
 * of them shows one todo saying so. A missing binary, redis-server or nginx never skips: the start fails
 * naming it.
 */
export function describeEach<T extends Topology>(
  covers: readonly T[],
  title: string,
  body: (topology: T) => void,
): void {
  const list = covers.filter((topology) => TOPOLOGIES.includes(topology));
  if (list.length === 0) {
    it.todo(
      `${title.replace('%s', covers.join(', '))}: not selected by TEST_ENGINES=${process.env.TEST_ENGINES ?? ''}`,
    );
    return;
  }
  describe.each(list.map((topology) => [TOPOLOGY_NAMES[topology], topology] as [string, T]))(title, (_name, topology) =>
    body(topology),
  );
}
