import type { MoveTiming, MoveTrigger } from './resilient-room.types';

export type MoveStep = 'tokenAt' | 'connectedAt' | 'publishedAt' | 'firstFrameAt' | 'allFramesAt';

export interface MoveLogListener {
  progress(move: MoveTiming): void;
  finished(move: MoveTiming): void;
  log(level: 'info' | 'warn', message: string): void;
}

/** Every move of the room with its timings; one of them at most is active (not finished). */
export class MoveLog {
  private readonly moves: MoveTiming[] = [];
  private current?: MoveTiming;

  constructor(
    private readonly listener: MoveLogListener,
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
  ) {}

  get all(): readonly MoveTiming[] {
    return this.moves;
  }

  /** The last move started, finished or not. */
  get active(): MoveTiming | undefined {
    return this.current;
  }

  /** The active move if it is still under way. */
  get unfinished(): MoveTiming | undefined {
    return this.current?.outcome === undefined ? this.current : undefined;
  }

  start(trigger: MoveTrigger, fromUrl: string, expectedRemotes: string[], detectedAt = this.now()): MoveTiming {
    const move: MoveTiming = { seq: this.moves.length + 1, trigger, fromUrl, detectedAt, expectedRemotes };
    this.moves.push(move);
    this.current = move;
    this.listener.log('warn', `move ${move.seq}: ${trigger} on ${fromUrl || 'no node'}`);
    this.listener.progress(move);
    return move;
  }

  progress(move: MoveTiming, step: MoveStep): void {
    move[step] = this.now();
    this.listener.progress(move);
  }

  /** A diagnostic instant inside a step (first occurrence only); not part of the step contract. */
  mark(move: MoveTiming, name: string): void {
    move.marks ??= {};
    move.marks[name] ??= this.now();
  }

  finish(move: MoveTiming, outcome: NonNullable<MoveTiming['outcome']>): void {
    if (move.outcome !== undefined) return;
    move.outcome = outcome;
    if (outcome === 'done' && move.firstFrameAt !== undefined) {
      this.listener.log(
        'info',
        `move ${move.seq}: video back ${Math.round(move.firstFrameAt - move.detectedAt)} ms after the loss was noticed`,
      );
    }
    this.listener.finished(move);
  }
}
