import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { NodeHealthService } from '../nodes/node-health.service';
import { MetricsService } from '../observability/metrics.service';
import { activeParticipants } from '../sessions/session.model';
import { SESSION_STORE, SessionStore } from '../sessions/store/session-store';

/**
 * Gauges of what the features hold, read at each scrape: node states, sessions and participants. From
 * the store's per-node load counters and its index of waiting sessions, not from every session (a
 * scrape every 15 s read the whole registry).
 */
@Injectable()
export class StateGauges implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly health: NodeHealthService,
    @Inject(SESSION_STORE) private readonly store: SessionStore,
  ) {}

  onModuleInit(): void {
    this.metrics.gauge(
      'session_rebuilder_node_up',
      '1 when the media node is up (takes sessions), 0 otherwise',
      ['node'],
      (gauge) => {
        for (const node of this.health.snapshots()) gauge.set({ node: node.url }, node.status === 'up' ? 1 : 0);
      },
    );
    this.metrics.gauge('session_rebuilder_sessions', 'sessions in the registry, by state', ['state'], async (gauge) => {
      const [loads, waiting] = await Promise.all([this.store.loadByNode(), this.store.listWaiting()]);
      gauge.set(
        { state: 'placed' },
        [...loads.values()].reduce((sum, load) => sum + load.sessions, 0),
      );
      gauge.set({ state: 'waiting-for-node' }, waiting.length);
    });
    this.metrics.gauge(
      'session_rebuilder_participants',
      'participants that a rebuild would re-invite',
      [],
      async (gauge) => {
        const [loads, waiting] = await Promise.all([this.store.loadByNode(), this.store.listWaiting()]);
        const placed = [...loads.values()].reduce((sum, load) => sum + load.participants, 0);
        gauge.set(placed + waiting.reduce((sum, session) => sum + activeParticipants(session).length, 0));
      },
    );
  }
}
