import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RejoinReason } from '../contracts';

export type RebuildOutcome = 'rebuilt' | 'waiting' | 'failed';

/**
 * Prometheus metrics on a registry of our own (no global state shared between app instances in tests).
 * It knows no feature: the counters are what features report, and gauges of the features' state (node
 * health, the session registry) are added by ops/ (state-gauges.ts), which reads them at each scrape.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly rebuilds: Counter<'reason' | 'outcome'>;
  private readonly rebuildDuration: Histogram<'reason' | 'outcome'>;
  private readonly webhooksRefused: Counter<'reason'>;
  private readonly backgroundFailures: Counter<'task'>;
  private readonly rateLimitedTotal: Counter<'route'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'session_rebuilder_' });
    this.rebuilds = new Counter({
      name: 'session_rebuilder_rebuilds_total',
      help: 'session rebuilds, by reason and outcome',
      labelNames: ['reason', 'outcome'],
      registers: [this.registry],
    });
    this.rebuildDuration = new Histogram({
      name: 'session_rebuilder_rebuild_duration_seconds',
      help: 'time to move one session: place, create room, mint and push tokens; by trigger (reason) and outcome',
      labelNames: ['reason', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.backgroundFailures = new Counter({
      name: 'session_rebuilder_background_failures_total',
      help: 'work nobody awaits (rebuilds after a node event, grace expiry, the sweep) that failed, by task',
      labelNames: ['task'],
      registers: [this.registry],
    });
    this.webhooksRefused = new Counter({
      name: 'session_rebuilder_webhooks_refused_total',
      help: 'webhooks refused, by why: signature (missing, wrong or expired) or body (empty or malformed)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.rateLimitedTotal = new Counter({
      name: 'session_rebuilder_rate_limited_total',
      help: 'requests and socket handshakes refused for going over --rate-limit or --max-sockets-per-address, by route',
      labelNames: ['route'],
      registers: [this.registry],
    });
  }

  webhookRefused(reason: 'signature' | 'body'): void {
    this.webhooksRefused.inc({ reason });
  }

  rateLimited(route: string): void {
    this.rateLimitedTotal.inc({ route });
  }

  /** Work nobody awaits failed: counted, and logged unless no logger is given (a retry already logged), never an unhandled rejection. */
  backgroundFailure(task: string, error: unknown, logger?: Logger): void {
    this.backgroundFailures.inc({ task });
    logger?.error(`${task} failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  recordRebuild(reason: RejoinReason, outcome: RebuildOutcome, durationMs: number): void {
    this.rebuilds.inc({ reason, outcome });
    this.rebuildDuration.observe({ reason, outcome }, durationMs / 1000);
  }

  /** A gauge read at each scrape: `collect` sets its values. */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: (gauge: Gauge<L>) => void | Promise<void>,
  ): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        return collect(this);
      },
    });
  }
}
