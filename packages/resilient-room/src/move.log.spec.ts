import { describe, expect, it } from '@jest/globals';
import { MoveLog } from './move.log';
import type { MoveTiming } from './resilient-room.types';

describe(MoveLog.name, () => {
  const setup = () => {
    let t = 1_000;
    const heard: string[] = [];
    const log = new MoveLog(
      {
        progress: (move: MoveTiming) => heard.push(`progress ${move.seq}`),
        finished: (move: MoveTiming) => heard.push(`finished ${move.seq} ${move.outcome}`),
        log: (_level, message) => heard.push(message),
      },
      () => (t += 100),
    );
    return { log, heard };
  };

  it('times a move step by step and reports video back from the moment the loss was noticed', () => {
    const { log, heard } = setup();
    const move = log.start('signal-lost', 'ws://a', ['bob']);
    expect(log.unfinished).toBe(move);
    log.progress(move, 'tokenAt');
    log.mark(move, 'signal');
    log.mark(move, 'signal'); // first occurrence only
    log.progress(move, 'connectedAt');
    log.progress(move, 'publishedAt');
    log.progress(move, 'firstFrameAt');
    log.finish(move, 'done');
    expect(move).toMatchObject({
      seq: 1,
      detectedAt: 1_100,
      tokenAt: 1_200,
      marks: { signal: 1_300 },
      connectedAt: 1_400,
      firstFrameAt: 1_600,
      outcome: 'done',
    });
    expect(log.unfinished).toBeUndefined();
    expect(heard).toContain('move 1: video back 500 ms after the loss was noticed');
    expect(heard.at(-1)).toBe('finished 1 done');
  });

  it('a move finishes once: a later outcome does not overwrite the first', () => {
    const { log, heard } = setup();
    const move = log.start('server:node-down', 'ws://a', []);
    log.finish(move, 'superseded');
    log.finish(move, 'done');
    expect(move.outcome).toBe('superseded');
    expect(heard.filter((h) => h.startsWith('finished'))).toEqual(['finished 1 superseded']);
  });
});
