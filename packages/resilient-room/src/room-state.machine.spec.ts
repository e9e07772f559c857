import { describe, expect, it } from '@jest/globals';
import { RoomStateMachine } from './room-state.machine';

describe(RoomStateMachine.name, () => {
  const clockAt = (...times: number[]) => {
    let i = 0;
    return () => times[Math.min(i++, times.length - 1)] ?? 0;
  };

  it('starts joining and follows a move: connected, rebuilding, waiting-for-node, connected', () => {
    const machine = new RoomStateMachine(clockAt(0, 10, 20, 30, 40));
    expect(machine.state).toBe('joining');
    for (const state of ['connected', 'rebuilding', 'waiting-for-node', 'connected'] as const) {
      expect(machine.move(state, `now ${state}`)?.state).toBe(state);
    }
    expect(machine.change).toMatchObject({ state: 'connected', reason: 'now connected', since: 40 });
  });

  it('keeps `since` while the state repeats, so a countdown shows the whole outage', () => {
    const machine = new RoomStateMachine(clockAt(0, 100, 200, 300));
    machine.move('waiting-for-node', 'no node', 1_000);
    const again = machine.move('waiting-for-node', 'still no node', 2_000);
    expect(again).toEqual({ state: 'waiting-for-node', reason: 'still no node', since: 100, retryAt: 2_000 });
    expect(machine.move('rebuilding', 'moving')?.since).toBe(200);
  });

  it('failed holds against everything but leaving; left holds against everything', () => {
    const machine = new RoomStateMachine();
    machine.move('failed', 'the backend refused');
    expect(machine.isFinal).toBe(true);
    for (const state of ['joining', 'connected', 'rebuilding', 'waiting-for-node', 'failed'] as const)
      expect(machine.move(state, 'late news')).toBeUndefined();
    expect(machine.state).toBe('failed');
    expect(machine.move('left', 'you left')?.state).toBe('left');
    expect(machine.move('connected', 'a late connect')).toBeUndefined();
    expect(machine.move('left', 'again')?.state).toBe('left');
  });
});
