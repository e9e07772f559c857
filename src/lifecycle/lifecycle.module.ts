import { Module } from '@nestjs/common';
import { RealtimeModule } from '../realtime/realtime.module';
import { SessionsModule } from '../sessions/sessions.module';
import { DrainService } from './drain.service';
import { DrainingMiddleware } from './draining.middleware';

/** The instance's own life: graceful shutdown (drain) for SIGTERM. */
@Module({
  imports: [SessionsModule, RealtimeModule],
  providers: [DrainService, DrainingMiddleware],
  exports: [DrainService, DrainingMiddleware],
})
export class LifecycleModule {}
