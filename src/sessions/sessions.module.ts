import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { LiveKitRegistry } from '../nodes/livekit-cluster/livekit-registry.service';
import { NodesModule } from '../nodes/nodes.module';
import { ROOM_LOCATOR } from '../nodes/room-locator';
import { JoinAuthService } from './join-auth.service';
import { ParticipantPresenceService } from './participant-presence.service';
import { SessionLocks } from './session-locks';
import { StoreRoomLocator } from './store-room-locator';
import { SESSION_STORE, type SessionStore } from './store/session-store';
import { RebuildScheduler } from './rebuild/rebuild-scheduler.service';
import { SessionMoverService } from './rebuild/session-mover.service';
import { SessionSweeperService } from './session-sweeper.service';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';
import { TokenService } from './token.service';

/**
 * The session registry and its HTTP API: joins and tokens, the rebuild (listening for node-down /
 * node-up), presence from webhooks, and the sweep. It announces moves as events (session.events.ts)
 * instead of knowing about sockets.
 */
@Module({
  imports: [
    NodesModule,
    // --rate-limit per client address, per route, per minute (counters in this instance's memory:
    // behind an ip_hash balancer an address meets one instance); 0 turns it off.
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ ttl: 60_000, limit: Math.max(1, config.rateLimit) }],
        skipIf: () => config.rateLimit === 0,
      }),
    }),
  ],
  controllers: [SessionsController],
  providers: [
    // Which node holds a room: the session's record with independent nodes, LiveKit's registry in its cluster.
    {
      provide: ROOM_LOCATOR,
      inject: [APP_CONFIG, SESSION_STORE, LiveKitRegistry],
      useFactory: (config: AppConfig, store: SessionStore, registry: LiveKitRegistry) =>
        config.clusterMode ? registry : new StoreRoomLocator(store),
    },
    SessionLocks,
    TokenService,
    JoinAuthService,
    SessionMoverService,
    RebuildScheduler,
    SessionsService,
    ParticipantPresenceService,
    SessionSweeperService,
  ],
  exports: [SessionsService, ParticipantPresenceService, RebuildScheduler],
})
export class SessionsModule {}
