import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from './domain-error';
import { OperatorAccess } from './operator-access';

/**
 * The operators' endpoints (every session with its participants, the nodes, the instance, metrics, the
 * dev tools) are not for the people in the calls: with --admin-token they need `Authorization: Bearer
 * <token>`; without one they are served only in dev mode (the embedded cluster on loopback, or --dev),
 * and elsewhere answer 404 as if they did not exist. One port and one token, rather than a second
 * loopback-only port: a load balancer or Prometheus reaches them the same way as the API, and a
 * scrape config takes a bearer token.
 */
@Injectable()
export class OperatorGuard implements CanActivate {
  private readonly access: OperatorAccess;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.access = new OperatorAccess(config);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (this.access.isOperator(req.headers.authorization)) return true;
    if (!this.access.tokenConfigured)
      throw new DomainError(
        'not-found',
        `${req.method} ${req.path} is served only with --admin-token (or in dev mode)`,
      );
    context
      .switchToHttp()
      .getResponse<Response>()
      .setHeader('WWW-Authenticate', 'Bearer realm="session-rebuilder operators"');
    throw new DomainError('unauthorized', 'an operator endpoint: send Authorization: Bearer <the --admin-token>');
  }
}
