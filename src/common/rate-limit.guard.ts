import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { MetricsService } from '../observability/metrics.service';
import { DomainError } from './domain-error';

/**
 * Per client address (`req.ip`: behind a proxy on this machine, the address it forwards), per route
 * and per minute (--rate-limit). Over it: 429 with Retry-After, through the one exception filter, and
 * counted in session_rebuilder_rate_limited_total.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: MetricsService,
  ) {
    super(options, storage, reflector);
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    this.metrics.rateLimited(context.getHandler().name);
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    throw new DomainError(
      'too-many-requests',
      `too many requests from this address: at most ${detail.limit} a minute; retry after ${retryAfter} s`,
    );
  }
}
