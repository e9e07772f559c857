import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { BACKPLANE, type Backplane } from './backplane/backplane';
import { createBackplane } from './backplane/create-backplane';
import { CLOCK, Clock, SystemClock } from './common/clock';
import { LIVEKIT_ROOM_API, LiveKitRoomApi, LiveKitRoomServiceApi } from './nodes/livekit-room.api';
import { NODE_LOAD_SOURCE } from './nodes/node-load.source';
import { HttpNodeProber, NODE_PROBER, NodeProber } from './nodes/node-prober';
import { ROOM_AUTO_CREATE, RoomAutoCreate, ValidateEndpointAutoCreate } from './nodes/room-auto-create';
import { NODE_HEALTH_BOARD } from './nodes/node-health-board';
import { APP_CONFIG, AppConfig } from './config/app-config';
import type { MediaCluster } from './media-cluster/api';
import { EMBEDDED_CLUSTER } from './ops/dev-mode.service';
import { SESSION_LEASE } from './sessions/session-locks';
import {
  REBUILD_CONCURRENCY,
  REBUILD_QUEUE_WIDTH,
  REBUILD_TEST_PAUSE_MS,
} from './sessions/rebuild/session-mover.service';
import { AppEvents } from './events/app-events';
import { SESSION_STORE, SessionStore } from './sessions/store/session-store';
import { APPLIED_EVENT_IDS } from './webhooks/applied-event-ids';

const BACKPLANE_READY = Symbol('BackplaneReady');

/** Closes the backplane's connections with the app. */
@Injectable()
class BackplaneShutdown implements OnApplicationShutdown {
  constructor(@Inject(BACKPLANE) private readonly backplane: Backplane) {}

  onApplicationShutdown(): void {
    this.backplane.close();
  }
}

/** The outside world, swappable in specs and benchmarks: store, clock, node prober, LiveKit RoomService and signal check. */
export interface AppOverrides {
  store?: SessionStore;
  clock?: Clock;
  prober?: NodeProber;
  roomApi?: LiveKitRoomApi;
  /** Whether each node's joins create rooms; asked of each node's /rtc/validate otherwise. */
  roomAutoCreate?: RoomAutoCreate;
  /** Rebuilds in flight at once (bench:rebuild-herd sizes REBUILD_CONCURRENCY with it). */
  rebuildConcurrency?: number;
}

/**
 * The validated configuration and the wrappers around every outside system, global so each feature
 * module injects them by token. The one place where specs swap the outside world.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, embeddedCluster: MediaCluster | null, overrides: AppOverrides = {}): DynamicModule {
    const clock = overrides.clock ?? new SystemClock();
    const backplane = createBackplane(config, clock, overrides.store);
    const providers = [
      { provide: APP_CONFIG, useValue: config },
      { provide: BACKPLANE, useValue: backplane },
      // Nest waits for this factory: the app starts once the shared store can be used.
      { provide: BACKPLANE_READY, useFactory: () => backplane.ready() },
      { provide: SESSION_STORE, useValue: backplane.store },
      { provide: SESSION_LEASE, useValue: backplane.lease },
      { provide: NODE_HEALTH_BOARD, useValue: backplane.healthBoard },
      { provide: APPLIED_EVENT_IDS, useValue: backplane.appliedEventIds },
      { provide: EMBEDDED_CLUSTER, useValue: embeddedCluster },
      { provide: CLOCK, useValue: clock },
      { provide: AppEvents, useClass: AppEvents },
      // Placement reads node load from the registry through nodes/' own interface.
      { provide: NODE_LOAD_SOURCE, useExisting: SESSION_STORE },
      overrides.prober
        ? { provide: NODE_PROBER, useValue: overrides.prober }
        : { provide: NODE_PROBER, useClass: HttpNodeProber },
      overrides.roomApi
        ? { provide: LIVEKIT_ROOM_API, useValue: overrides.roomApi }
        : { provide: LIVEKIT_ROOM_API, useClass: LiveKitRoomServiceApi },
      overrides.roomAutoCreate
        ? { provide: ROOM_AUTO_CREATE, useValue: overrides.roomAutoCreate }
        : { provide: ROOM_AUTO_CREATE, useClass: ValidateEndpointAutoCreate },
      { provide: REBUILD_QUEUE_WIDTH, useValue: overrides.rebuildConcurrency ?? REBUILD_CONCURRENCY },
      { provide: REBUILD_TEST_PAUSE_MS, useValue: Number(process.env.SESSION_REBUILDER_TEST_REBUILD_PAUSE_MS) || 0 },
    ];
    return {
      module: CoreModule,
      providers: [...providers, BackplaneShutdown],
      exports: providers.map((p) => p.provide),
    };
  }
}
