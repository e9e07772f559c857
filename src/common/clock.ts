// Time behind a wrapper so the health state machine and grace timers can be driven by a fake clock in specs.

export type TimerHandle = { readonly id: unknown };

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const CLOCK = Symbol('Clock');

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = setTimeout(fn, ms);
    // A pending grace timer or probe must never keep a stopping process alive.
    id.unref();
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle.id as NodeJS.Timeout);
  }
}
