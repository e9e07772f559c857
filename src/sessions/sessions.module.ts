import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { OpsModule } from '../ops/ops.module';
import { JoinAuthService } from './join-auth.service';
import { ParticipantPresenceService } from './participant-presence.service';
import { SessionLocks } from './session-locks';
import { SessionRebuildService } from './session-rebuild.service';
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
  imports: [ClusterModule, OpsModule],
  controllers: [SessionsController],
  providers: [SessionLocks, TokenService, JoinAuthService, SessionRebuildService, SessionsService, ParticipantPresenceService, SessionSweeperService],
  exports: [SessionsService, ParticipantPresenceService, SessionRebuildService],
})
export class SessionsModule {}
