import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { NodesModule } from './nodes/nodes.module';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { bodyParsers } from './common/body-parsers';
import type { AppConfig } from './config/app-config';
import { AppOverrides, CoreModule } from './core.module';
import type { MediaCluster } from './media-cluster/api';
import { DrainingMiddleware } from './lifecycle/draining.middleware';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { ObservabilityModule } from './observability/observability.module';
import { OpsModule } from './ops/ops.module';
import { RealtimeModule } from './realtime/realtime.module';
import { SessionsModule } from './sessions/sessions.module';
import { WebhooksModule } from './webhooks/webhooks.module';

export type { AppOverrides };

/**
 * The composition root: the outside world (CoreModule) and one module per feature. From detection to
 * a client moving: NodesModule's node health emits node-down, SessionsModule's rebuild listens and
 * emits session-moved, RealtimeModule's push relays it to each participant's socket.
 */
@Module({})
export class AppModule implements NestModule {
  static forRoot(config: AppConfig, embeddedCluster: MediaCluster | null, overrides: AppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        EventEmitterModule.forRoot(),
        CoreModule.forRoot(config, embeddedCluster, overrides),
        ObservabilityModule,
        NodesModule,
        SessionsModule,
        RealtimeModule,
        WebhooksModule,
        OpsModule,
        LifecycleModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ApiExceptionFilter }],
    };
  }

  /**
   * Body parsers as Nest middleware, so their errors (413, bad JSON) reach the one exception filter.
   * While the instance drains, the API and /health answer 503 first.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(DrainingMiddleware).forRoutes('api/*path', 'health', 'health/*path');
    consumer.apply(bodyParsers()).forRoutes('*');
  }
}
