import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { CLOCK, Clock, SystemClock } from './common/clock';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { ClusterController } from './cluster/cluster.controller';
import { LIVEKIT_ROOM_API, LiveKitRoomApi, LiveKitRoomServiceApi } from './cluster/livekit-room.api';
import { NodeHealthService } from './cluster/node-health.service';
import { NODE_LOAD_SOURCE } from './cluster/node-load.source';
import { NodePlacementService } from './cluster/node-placement.service';
import { HttpNodeProber, NODE_PROBER, NodeProber } from './cluster/node-prober';
import type { DevCluster } from './dev-cluster/api';
import { DEV_CLUSTER, DevModeService } from './dev-mode/dev-mode.service';
import { DevModeController } from './dev-mode/dev-mode.controller';
import { MetricsService } from './observability/metrics.service';
import { ObservabilityController } from './observability/observability.controller';
import { SessionGateway } from './realtime/session.gateway';
import { SessionPushService } from './realtime/session-push.service';
import { ParticipantPresenceService } from './sessions/participant-presence.service';
import { SessionLocks } from './sessions/session-locks';
import { REBUILD_CONCURRENCY, REBUILD_QUEUE_WIDTH, SessionRebuildService } from './sessions/session-rebuild.service';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsService } from './sessions/sessions.service';
import { SessionSweeperService } from './sessions/session-sweeper.service';
import { TokenService } from './sessions/token.service';
import { MemorySessionStore } from './store/memory-session-store';
import { SESSION_STORE, SessionStore } from './store/session-store';
import { WebhooksController } from './webhooks/webhooks.controller';
import { WebhooksService } from './webhooks/webhooks.service';

/** The outside world, swappable in specs: store, clock, node prober, LiveKit RoomService. */
export interface AppOverrides {
  store?: SessionStore;
  clock?: Clock;
  prober?: NodeProber;
  roomApi?: LiveKitRoomApi;
  /** Rebuilds in flight at once (bench:rebuild-herd sizes REBUILD_CONCURRENCY with it). */
  rebuildConcurrency?: number;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, devCluster: DevCluster | null, overrides: AppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      controllers: [SessionsController, ClusterController, WebhooksController, ObservabilityController, DevModeController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: DEV_CLUSTER, useValue: devCluster },
        { provide: CLOCK, useValue: overrides.clock ?? new SystemClock() },
        { provide: SESSION_STORE, useValue: overrides.store ?? new MemorySessionStore() },
        // Placement reads node load from the registry through its own interface (cluster/ does not import sessions/).
        { provide: NODE_LOAD_SOURCE, useExisting: SESSION_STORE },
        overrides.prober ? { provide: NODE_PROBER, useValue: overrides.prober } : { provide: NODE_PROBER, useClass: HttpNodeProber },
        overrides.roomApi ? { provide: LIVEKIT_ROOM_API, useValue: overrides.roomApi } : { provide: LIVEKIT_ROOM_API, useClass: LiveKitRoomServiceApi },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: REBUILD_QUEUE_WIDTH, useValue: overrides.rebuildConcurrency ?? REBUILD_CONCURRENCY },
        NodeHealthService,
        NodePlacementService,
        MetricsService,
        SessionLocks,
        TokenService,
        SessionPushService,
        SessionRebuildService,
        SessionsService,
        ParticipantPresenceService,
        SessionSweeperService,
        SessionGateway,
        WebhooksService,
        DevModeService,
      ],
    };
  }
}
