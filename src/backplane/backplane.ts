import type { INestApplicationContext } from '@nestjs/common';
import type { IoAdapter } from '@nestjs/platform-socket.io';
import type { NodeHealthBoard } from '../nodes/node-health-board';
import type { SessionLease } from '../sessions/session-locks';
import type { SessionStore } from '../sessions/store/session-store';
import type { AppliedEventIds } from '../webhooks/applied-event-ids';

export const BACKPLANE = Symbol('Backplane');

/**
 * What backend instances share, in one place: the session store, the per-session lease, the node health
 * board, the webhook ids applied and socket.io's rooms. In memory for one instance, over Redis for
 * several (createBackplane chooses). Features see these interfaces, never which one runs.
 */
export interface Backplane {
  /** 'memory' or 'redis', for logs, /api/info and readiness. */
  readonly kind: 'memory' | 'redis';
  readonly store: SessionStore;
  readonly lease: SessionLease;
  readonly healthBoard: NodeHealthBoard;
  readonly appliedEventIds: AppliedEventIds;
  /** The socket.io adapter for the app: its rooms reach every instance's sockets. */
  socketAdapter(app: INestApplicationContext): IoAdapter;
  /** Resolves once the shared store can be used (or has failed long enough that the start goes on without it). */
  ready(): Promise<void>;
  /** Closes its connections; safe to call twice. */
  close(): void;
}
