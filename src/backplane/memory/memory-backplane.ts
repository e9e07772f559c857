import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Clock } from '../../common/clock';
import type { SessionStore } from '../../sessions/store/session-store';
import type { Backplane } from '../backplane';
import { LocalLease } from './local-lease';
import { LocalNodeHealthBoard } from './local-node-health-board';
import { MemoryAppliedEventIds } from './memory-applied-event-ids';
import { MemorySessionStore } from './memory-session-store';

/** One instance, nothing shared: the embedded default. `store` lets specs bring one of their own. */
export function memoryBackplane(clock: Clock, store: SessionStore = new MemorySessionStore(clock)): Backplane {
  return {
    kind: 'memory',
    store,
    lease: new LocalLease(),
    healthBoard: new LocalNodeHealthBoard(),
    appliedEventIds: new MemoryAppliedEventIds(() => clock.now()),
    socketAdapter: (app: INestApplicationContext) => new IoAdapter(app),
    ready: () => Promise.resolve(),
    close: () => undefined,
  };
}
