import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  MEDIA_PATH_CHECK_MS,
  MEDIA_PATH_REPEAT_MS,
  MEDIA_SILENCE_MS,
  watchMediaPath,
  type TransportReading,
} from './media-path.watcher';

// A Room's two peer connections as the watcher reads them; each test moves their bytes and states.
type Wire = { ice: RTCIceConnectionState; bytes: number; flowing: boolean; expected: boolean };

describe(watchMediaPath.name, () => {
  let wires: Record<'publisher' | 'subscriber', Wire>;
  let reports: string[];
  let stop: () => void;

  beforeEach(() => {
    jest.useFakeTimers();
    wires = {
      publisher: { ice: 'connected', bytes: 0, flowing: true, expected: true },
      subscriber: { ice: 'connected', bytes: 0, flowing: true, expected: true },
    };
    reports = [];
    const source = {
      transports: () =>
        Promise.resolve(
          Object.entries(wires).map(([name, wire]): TransportReading => {
            if (wire.flowing) wire.bytes += 1_000;
            return { name, ice: wire.ice, bytesReceived: wire.bytes, expected: wire.expected };
          }),
        ),
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
    expect(reports).toEqual(['nothing received for 3 s on the publisher and subscriber connections']);
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
});
