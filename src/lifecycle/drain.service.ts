import { Injectable, Logger } from '@nestjs/common';
import { SessionPushService } from '../realtime/session-push.service';
import { RebuildScheduler } from '../sessions/rebuild/rebuild-scheduler.service';

export interface DrainReport {
  rebuildsUnfinished: number;
  socketsClosed: number;
  durationMs: number;
}

/**
 * Leaving gracefully (SIGTERM): take no new joins (503, so a load balancer's retry or the client's
 * goes elsewhere), let the rebuilds in flight finish and push their moves, then close every socket
 * at the transport so clients reconnect (to another instance when there is one).
 */
@Injectable()
export class DrainService {
  private readonly logger = new Logger(DrainService.name);
  private drainingSince: number | undefined;

  constructor(
    private readonly rebuilds: RebuildScheduler,
    private readonly push: SessionPushService,
  ) {}

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  async drain(rebuildTimeoutMs: number): Promise<DrainReport> {
    const started = Date.now();
    this.drainingSince ??= started;
    this.logger.warn('draining: new requests answer 503; waiting for rebuilds in flight');
    const rebuildsUnfinished = await this.rebuilds.whenIdle(rebuildTimeoutMs);
    const socketsClosed = this.push.closeAllConnections();
    const report = { rebuildsUnfinished, socketsClosed, durationMs: Date.now() - started };
    this.logger.warn(
      `drained in ${report.durationMs} ms: ${socketsClosed} socket(s) closed, ${rebuildsUnfinished} rebuild(s) left unfinished`,
    );
    return report;
  }
}
