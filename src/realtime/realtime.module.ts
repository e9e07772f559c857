import { Module } from '@nestjs/common';
import { OpsModule } from '../ops/ops.module';
import { SessionsModule } from '../sessions/sessions.module';
import { SessionPushService } from './session-push.service';
import { SessionGateway } from './session.gateway';

/** The socket.io namespace `/session`: authenticates participants, relays the registry's moves to them. */
@Module({
  imports: [SessionsModule, OpsModule],
  providers: [SessionGateway, SessionPushService],
  exports: [SessionPushService],
})
export class RealtimeModule {}
