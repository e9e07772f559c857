import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown, Optional } from '@nestjs/common';
import { hostname } from 'node:os';
import type Redis from 'ioredis';
import { CLOCK, Clock, SystemClock } from './common/clock';
import { LIVEKIT_ROOM_API, LiveKitRoomApi, LiveKitRoomServiceApi } from './nodes/livekit-room.api';
import { NODE_LOAD_SOURCE } from './nodes/node-load.source';
import { HttpNodeProber, NODE_PROBER, NodeProber } from './nodes/node-prober';
import { NODE_HEALTH_BOARD, RedisNodeHealthBoard } from './nodes/node-health-board';
import { APP_CONFIG, AppConfig } from './config/app-config';
import type { MediaCluster } from './media-cluster/api';
import { EMBEDDED_CLUSTER } from './ops/dev-mode.service';
import { SESSION_LEASE } from './sessions/session-locks';
import { REBUILD_CONCURRENCY, REBUILD_QUEUE_WIDTH, REBUILD_TEST_PAUSE_MS } from './sessions/session-rebuild.service';
import { MemorySessionStore } from './sessions/store/memory-session-store';
import { COMMAND_TIMEOUT_MS, connectRedis, untilReady } from './sessions/store/redis-connection';
import { RedisLease } from './sessions/store/redis-lease';
import { RedisSessionStore } from './sessions/store/redis-session-store';
import { KEY_PREFIX } from './sessions/store/redis-keys';
import { SESSION_STORE, SessionStore } from './sessions/store/session-store';
import { APPLIED_EVENT_IDS, MemoryAppliedEventIds, RedisAppliedEventIds } from './webhooks/applied-event-ids';

const REDIS = Symbol('Redis');
const REDIS_READY = Symbol('RedisReady');

/** Closes the store's Redis connection with the app. */
@Injectable()
class RedisShutdown implements OnApplicationShutdown {
  constructor(@Optional() @Inject(REDIS) private readonly redis?: Redis | null) {}

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}

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
  static forRoot(config: AppConfig, embeddedCluster: MediaCluster | null, overrides: AppOverrides = {}): DynamicModule {
    // --redis: sessions, rejoin-key hashes and the per-session lease live in Redis, shared by every instance.
    const redis = config.redis && !overrides.store ? connectRedis(config.redis, 'store') : null;
    const clock = overrides.clock ?? new SystemClock();
    // The memory store runs the sweep's deadlines on the app's clock (Redis: on its own, TIME).
    const store = overrides.store ?? (redis ? new RedisSessionStore(redis) : new MemorySessionStore(clock));
    const providers = [
      { provide: APP_CONFIG, useValue: config },
      { provide: REDIS, useValue: redis },
      // The app starts once the store's connection is up (or has failed for COMMAND_TIMEOUT_MS): the
      // start-up probes announce node-up, whose rebuild of waiting sessions reads the store, and failed
      // at every start before the connection was ready.
      { provide: REDIS_READY, useFactory: () => (redis ? untilReady(redis, COMMAND_TIMEOUT_MS) : undefined) },
      { provide: SESSION_LEASE, useValue: redis ? new RedisLease(redis) : null },
      // Each instance's view of the nodes, shared (a subscriber needs a connection of its own, which
      // waits for Redis rather than failing: it subscribes whenever Redis is there).
      {
        provide: NODE_HEALTH_BOARD,
        useValue: redis ? new RedisNodeHealthBoard(redis, connectRedis(config.redis!, 'node health', { offlineQueue: true }), `${hostname()}:${process.pid}`, KEY_PREFIX) : null,
      },
      { provide: EMBEDDED_CLUSTER, useValue: embeddedCluster },
      { provide: CLOCK, useValue: clock },
      { provide: SESSION_STORE, useValue: store },
      // Webhook ids applied: shared in Redis, since LiveKit's retry of a delivery may reach another instance.
      { provide: APPLIED_EVENT_IDS, useFactory: (clock: Clock) => (redis ? new RedisAppliedEventIds(redis) : new MemoryAppliedEventIds(() => clock.now())), inject: [CLOCK] },
      // Placement reads node load from the registry through cluster/'s own interface.
      { provide: NODE_LOAD_SOURCE, useExisting: SESSION_STORE },
      overrides.prober ? { provide: NODE_PROBER, useValue: overrides.prober } : { provide: NODE_PROBER, useClass: HttpNodeProber },
      overrides.roomApi ? { provide: LIVEKIT_ROOM_API, useValue: overrides.roomApi } : { provide: LIVEKIT_ROOM_API, useClass: LiveKitRoomServiceApi },
      { provide: REBUILD_QUEUE_WIDTH, useValue: overrides.rebuildConcurrency ?? REBUILD_CONCURRENCY },
      { provide: REBUILD_TEST_PAUSE_MS, useValue: Number(process.env.SESSION_REBUILDER_TEST_REBUILD_PAUSE_MS) || 0 },
    ];
    return { module: CoreModule, providers: [...providers, RedisShutdown], exports: providers.map((p) => p.provide) };
  }
}
