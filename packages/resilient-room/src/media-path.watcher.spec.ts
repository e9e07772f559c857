import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  MEDIA_PATH_CHECK_MS,
  MEDIA_PATH_REPEAT_MS,
  MEDIA_SILENCE_MS,
  QUICK_MIN_PAUSES,
  QUICK_SILENCE_MS,
  watchMediaPath,
  type TransportReading,
} from './media-path.watcher';

// A Room's two peer connections as the watcher reads them; each test moves their bytes and states. A
// wire that flows `everyMs` receives only once in that long (the dev node's receiver reports).
type Wire = {
  ice: RTCIceConnectionState;
  bytes: number;
  flowing: boolean;
  expected: boolean;
  everyMs?: number;
  grewAt?: number;
};
// The node's HTTP, as the quick rule asks it: whether and after how long it answers, and what its answer
// brings back (a busy node's media resumes with it).
type Node = { answers: boolean; afterMs: number; onAnswer?: () => void; asked: number };

describe(watchMediaPath.name, () => {
  let wires: Record<'publisher' | 'subscriber', Wire>;
  let reports: string[];
  let node: Node;
  let stop: () => void;

  beforeEach(() => {
    jest.useFakeTimers();
    wires = {
      publisher: { ice: 'connected', bytes: 0, flowing: true, expected: true },
      subscriber: { ice: 'connected', bytes: 0, flowing: true, expected: true },
    };
    reports = [];
    node = { answers: true, afterMs: 20, asked: 0 };
    const source = {
      transports: () =>
        Promise.resolve(
          Object.entries(wires).map(([name, wire]): TransportReading => {
            const due = wire.everyMs === undefined || Date.now() % wire.everyMs < MEDIA_PATH_CHECK_MS;
            if (wire.flowing && due) {
              wire.bytes += 1_000;
              wire.grewAt = Date.now();
            }
            return { name, ice: wire.ice, bytesReceived: wire.bytes, expected: wire.expected };
          }),
        ),
      nodeAnswers: () => {
        node.asked++;
        return new Promise<boolean>((resolve) =>
          setTimeout(() => {
            node.onAnswer?.();
            resolve(node.answers);
          }, node.afterMs),
        );
      },
    };
    stop = watchMediaPath(
      source,
      () => true,
      (why) => reports.push(why),
    );
  });

  afterEach(() => {
    stop();
    jest.useRealTimers();
  });

  const pass = (ms: number) => jest.advanceTimersByTimeAsync(ms);

  it('reports once every receiving connection has been silent for MEDIA_SILENCE_MS, again while it stays so, and re-arms when media flows again', async () => {
    await pass(1_000);
    wires.publisher.flowing = false;
    wires.subscriber.flowing = false;
    await pass(MEDIA_SILENCE_MS - MEDIA_PATH_CHECK_MS);
    expect(reports).toEqual([]);
    await pass(2 * MEDIA_PATH_CHECK_MS);
    expect(reports).toEqual([
      'nothing received for 3 s on the publisher and subscriber connections (publisher rhythm not known yet, subscriber rhythm not known yet; node not asked or no answer yet)',
    ]);
    await pass(MEDIA_PATH_REPEAT_MS);
    expect(reports).toHaveLength(2);

    wires.publisher.flowing = true;
    wires.subscriber.flowing = true;
    await pass(1_000);
    wires.publisher.flowing = false;
    wires.subscriber.flowing = false;
    await pass(MEDIA_SILENCE_MS + MEDIA_PATH_CHECK_MS);
    expect(reports).toHaveLength(3);
  });

  it("says nothing when only the subscriber goes quiet (another participant's network) while the node's feedback goes on", async () => {
    await pass(1_000);
    wires.subscriber.flowing = false;
    await pass(3 * MEDIA_SILENCE_MS);
    expect(reports).toEqual([]);
  });

  it('says nothing when a flow ends for a reason (nobody left to subscribe to, nothing published)', async () => {
    await pass(1_000);
    wires.subscriber.flowing = false;
    wires.subscriber.expected = false;
    wires.publisher.flowing = false;
    wires.publisher.expected = false;
    await pass(3 * MEDIA_SILENCE_MS);
    expect(reports).toEqual([]);
  });

  it('reports a connection that was connected and turns ICE disconnected (nothing to measure silence on)', async () => {
    wires.publisher.expected = false;
    wires.subscriber.expected = false;
    await pass(1_000);
    wires.subscriber.ice = 'disconnected';
    await pass(MEDIA_PATH_CHECK_MS);
    expect(reports).toEqual(['the subscriber connection is disconnected']);
  });

  describe('the quick rule', () => {
    const silence = () => {
      wires.publisher.flowing = false;
      wires.subscriber.flowing = false;
    };

    it('reports a path silent for QUICK_SILENCE_MS while the node answers HTTP, a check after its answer, and asks once per silence', async () => {
      await pass((QUICK_MIN_PAUSES + 2) * MEDIA_PATH_CHECK_MS);
      silence();
      await pass(QUICK_SILENCE_MS - MEDIA_PATH_CHECK_MS);
      expect(reports).toEqual([]);
      // Asked at QUICK_ASK_MS: its answer is in when the silence reaches QUICK_SILENCE_MS.
      await pass(2 * MEDIA_PATH_CHECK_MS);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(
        /^nothing received for \d+ ms on the publisher and subscriber connections while the node answers HTTP$/,
      );
      await pass(MEDIA_SILENCE_MS);
      expect(node.asked).toBe(1);
    });

    it('leaves it to the 3 s rule when the node does not answer (hung, gone, or a page whose CSP forbids asking)', async () => {
      node.answers = false;
      await pass((QUICK_MIN_PAUSES + 2) * MEDIA_PATH_CHECK_MS);
      silence();
      await pass(MEDIA_SILENCE_MS - MEDIA_PATH_CHECK_MS);
      expect(reports).toEqual([]);
      await pass(2 * MEDIA_PATH_CHECK_MS);
      expect(reports).toEqual([
        'nothing received for 3 s on the publisher and subscriber connections (publisher quick silence 1000 ms, subscriber quick silence 1000 ms; node did not answer HTTP)',
      ]);
    });

    it('says nothing of a busy node whose media comes back with its HTTP answer', async () => {
      node.afterMs = 600;
      node.onAnswer = () => {
        wires.publisher.flowing = true;
        wires.subscriber.flowing = true;
      };
      await pass((QUICK_MIN_PAUSES + 2) * MEDIA_PATH_CHECK_MS);
      silence();
      await pass(2 * MEDIA_SILENCE_MS);
      expect(reports).toEqual([]);
      expect(node.asked).toBe(1);
    });

    it('gives a flow that pauses by nature twice its longest pause (a publisher alone, hearing receiver reports 1.5 s apart)', async () => {
      wires.subscriber.flowing = false;
      wires.subscriber.expected = false;
      wires.publisher.everyMs = 1_500;
      await pass(10_000);
      wires.publisher.flowing = false;
      // Silent since its last report for longer than the quick rule's 1 s, short of twice its pause.
      await pass(wires.publisher.grewAt! + MEDIA_SILENCE_MS - MEDIA_PATH_CHECK_MS - Date.now());
      expect(reports).toEqual([]);
      await pass(2 * MEDIA_PATH_CHECK_MS);
      expect(reports).toEqual([
        'nothing received for 3 s on the publisher connection (publisher quick silence 3000 ms; node answered HTTP)',
      ]);
    });

    it('applies when one silent flow has shown its pauses, though another started a moment ago (a camera just published)', async () => {
      wires.publisher.expected = false;
      wires.publisher.flowing = false;
      await pass((QUICK_MIN_PAUSES + 2) * MEDIA_PATH_CHECK_MS);
      wires.publisher.expected = true;
      wires.publisher.flowing = true;
      await pass(2 * MEDIA_PATH_CHECK_MS);
      silence();
      await pass(QUICK_SILENCE_MS + 3 * MEDIA_PATH_CHECK_MS);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(/while the node answers HTTP$/);
    });

    it("does not take one long pause (a move's set-up) for its flow's rhythm", async () => {
      // Flowing from the second check on, then one pause of three checks.
      await pass(2 * MEDIA_PATH_CHECK_MS);
      silence();
      await pass(2 * MEDIA_PATH_CHECK_MS);
      wires.publisher.flowing = true;
      wires.subscriber.flowing = true;
      await pass((QUICK_MIN_PAUSES + 2) * MEDIA_PATH_CHECK_MS);
      silence();
      // Held to twice that pause (1.5 s), nothing would be said yet.
      await pass(QUICK_SILENCE_MS + MEDIA_PATH_CHECK_MS);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(/while the node answers HTTP$/);
    });

    it('applies only to a flow that has shown QUICK_MIN_PAUSES pauses (a Room just connected gets the 3 s rule)', async () => {
      await pass((QUICK_MIN_PAUSES - 1) * MEDIA_PATH_CHECK_MS);
      silence();
      await pass(MEDIA_SILENCE_MS - MEDIA_PATH_CHECK_MS);
      expect(reports).toEqual([]);
    });
  });
});
