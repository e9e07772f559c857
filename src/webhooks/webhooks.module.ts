import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module';
import { WebhookAuthMiddleware } from './webhook-auth.middleware';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** LiveKit's signed webhooks, verified and applied to the registry's presence. */
@Module({
  imports: [SessionsModule],
  controllers: [WebhooksController],
  providers: [WebhooksService],
})
export class WebhooksModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(WebhookAuthMiddleware).forRoutes(WebhooksController);
  }
}
