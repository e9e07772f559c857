import { Inject, Injectable } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { describeRedisTarget, redactUrl } from '../config/redis-target';
import { LiveKitRegistry } from '../nodes/livekit-cluster/livekit-registry.service';
import { NodeHealthService } from '../nodes/node-health.service';
import { BACKPLANE, type Backplane } from '../backplane/backplane';

/** A store that does not answer within this is as good as down for a balancer deciding where to send. */
const STORE_CHECK_MS = 1_000;

/**
 * Readiness (@nestjs/terminus): this instance can serve joins. Its config was valid (it would not have
 * started otherwise), its session store answers (and LiveKit's Redis, in LiveKit's cluster), and at least
 * one media node is up; every node is in the answer with its state and why.
 */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly checks: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly health: NodeHealthService,
    private readonly registry: LiveKitRegistry,
    @Inject(BACKPLANE) private readonly backplane: Backplane,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The terminus result, with its HTTP status: 200 ready, 503 not. */
  async check(): Promise<{ ready: boolean; result: HealthCheckResult }> {
    try {
      return {
        ready: true,
        result: await this.checks.check([
          () => this.configured(),
          () => this.storeAnswers(),
          ...(this.config.clusterMode ? [() => this.livekitRegistryAnswers()] : []),
          () => this.mediaNodes(),
        ]),
      };
    } catch (error) {
      const result = (error as { getResponse?: () => unknown }).getResponse?.() as HealthCheckResult | undefined;
      if (!result) throw error;
      return { ready: false, result };
    }
  }

  private configured() {
    return this.indicators.check('config').up({
      media: this.config.embeddedCluster
        ? `embedded ${this.config.media} cluster`
        : `${this.config.urls.length} node(s)`,
      store: this.backplane.kind,
    });
  }

  private storeAnswers() {
    const target = this.config.redisTarget;
    return this.answersWithin(
      'store',
      () => this.backplane.store.placement('readiness-probe'),
      target && describeRedisTarget(target),
    );
  }

  /** LiveKit's own Redis (--livekit-redis), where the cluster's nodes are registered. */
  private livekitRegistryAnswers() {
    return this.answersWithin('livekit-redis', () => this.registry.check(), redactUrl(this.config.livekitRedis ?? ''));
  }

  private async answersWithin(name: string, call: () => Promise<unknown>, what?: string) {
    const session = this.indicators.check(name);
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        call(),
        new Promise(
          (_, reject) =>
            (timer = setTimeout(() => reject(new Error(`no answer within ${STORE_CHECK_MS} ms`)), STORE_CHECK_MS)),
        ),
      ]);
      return session.up({ ...(what && { url: what }), latencyMs: Math.round(performance.now() - started) });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return session.down({ message: what ? `${what}: ${why}` : why });
    } finally {
      clearTimeout(timer);
    }
  }

  private mediaNodes() {
    const nodes = this.health.snapshots().map((node) => ({ url: node.url, status: node.status, reason: node.reason }));
    const up = nodes.filter((node) => node.status === 'up').length;
    const session = this.indicators.check('media');
    return up > 0 ? session.up({ up, nodes }) : session.down({ message: 'no media node is up', up, nodes });
  }
}
