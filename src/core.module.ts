import { DynamicModule, Global, Module } from '@nestjs/common';
import { CLOCK, Clock, SystemClock } from './common/clock';
import { LIVEKIT_ROOM_API, LiveKitRoomApi, LiveKitRoomServiceApi } from './cluster/livekit-room.api';
import { NODE_LOAD_SOURCE } from './cluster/node-load.source';
import { HttpNodeProber, NODE_PROBER, NodeProber } from './cluster/node-prober';
import { APP_CONFIG, AppConfig } from './config/app-config';
import type { DevCluster } from './dev-cluster/api';
import { DEV_CLUSTER } from './ops/dev-mode.service';
import { REBUILD_CONCURRENCY, REBUILD_QUEUE_WIDTH } from './sessions/session-rebuild.service';
import { MemorySessionStore } from './sessions/store/memory-session-store';
import { SESSION_STORE, SessionStore } from './sessions/store/session-store';

/** The outside world, swappable in specs and benchmarks: store, clock, node prober, LiveKit RoomService. */
export interface AppOverrides {
  store?: SessionStore;
  clock?: Clock;
  prober?: NodeProber;
  roomApi?: LiveKitRoomApi;
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
  static forRoot(config: AppConfig, devCluster: DevCluster | null, overrides: AppOverrides = {}): DynamicModule {
    const providers = [
      { provide: APP_CONFIG, useValue: config },
      { provide: DEV_CLUSTER, useValue: devCluster },
      { provide: CLOCK, useValue: overrides.clock ?? new SystemClock() },
      { provide: SESSION_STORE, useValue: overrides.store ?? new MemorySessionStore() },
      // Placement reads node load from the registry through cluster/'s own interface.
      { provide: NODE_LOAD_SOURCE, useExisting: SESSION_STORE },
      overrides.prober ? { provide: NODE_PROBER, useValue: overrides.prober } : { provide: NODE_PROBER, useClass: HttpNodeProber },
      overrides.roomApi ? { provide: LIVEKIT_ROOM_API, useValue: overrides.roomApi } : { provide: LIVEKIT_ROOM_API, useClass: LiveKitRoomServiceApi },
      { provide: REBUILD_QUEUE_WIDTH, useValue: overrides.rebuildConcurrency ?? REBUILD_CONCURRENCY },
    ];
    return { module: CoreModule, providers, exports: providers.map((p) => p.provide) };
  }
}
