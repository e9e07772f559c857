import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module';
import { SessionPushService } from './session-push.service';
import { SessionGateway } from './session.gateway';

/** The socket.io namespace `/session`: authenticates participants, relays the registry's moves to them. */
@Module({
  imports: [SessionsModule],
  providers: [SessionGateway, SessionPushService],
  exports: [SessionPushService],
})
export class RealtimeModule {}
