// A client's report alone moves a session. Over real processes the probe loop finds a dead node within
// a probe interval too, so it cannot tell which trigger moved the session; here the loop is frozen (a
// fake clock nobody advances) and only the report can.
import { describe, expect, it } from '@jest/globals';
import { SystemClock, type TimerHandle } from '../../src/common/clock';
import { startInProcessApp } from '../support/in-process-app';
import { connect, join, operatorApi } from '../support/session-client';

/** Time passes; no timer fires (the probe loop's, the verdict's). */
class StoppedTimersClock extends SystemClock {
  override setTimeout(): TimerHandle {
    return { id: 'never' };
  }
  override clearTimeout(): void {}
}

/** Long enough for a probe loop, were one running, to find a refused node (PROBE_INTERVAL_MS = 250). */
const NOTHING_MOVES_MS = 600;

describe('client reports, with the probe loop frozen (in-process app)', () => {
  it('media-lost over the socket takes the dead node down and moves the session', async () => {
    const stack = await startInProcessApp({ nodes: 2, clock: new StoppedTimersClock() });
    try {
      const ann = await join(stack.url, 'lost', 'Ann');
      const socket = await connect(stack.url, ann);
      try {
        stack.nodes.state.set(ann.url, 'refused');
        await new Promise((resolve) => setTimeout(resolve, NOTHING_MOVES_MS));
        expect(socket.rejoins).toEqual([]); // nobody else noticed

        socket.socket.emit('media-lost', { url: ann.url });
        const rejoin = await socket.nextRejoin(2, 5_000);
        expect(rejoin).toMatchObject({ reason: 'client-report', generation: 2 });
        expect(rejoin.url).not.toBe(ann.url);
        const nodes = (
          await operatorApi<Array<{ url: string; status: string; reason: string }>>(stack.url, '/api/nodes')
        ).body;
        expect(nodes.find((n) => n.url === ann.url)).toMatchObject({
          status: 'down',
          reason: expect.stringMatching(/^refused/),
        });
      } finally {
        socket.close();
      }
    } finally {
      await stack.close();
    }
  });
});
