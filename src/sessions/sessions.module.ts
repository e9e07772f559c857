import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { NodesModule } from '../nodes/nodes.module';
import { JoinAuthService } from './join-auth.service';
import { ParticipantPresenceService } from './participant-presence.service';
import { SessionLocks } from './session-locks';
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
