import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppInfo } from '../contracts';
import type { MediaCluster } from '../media-cluster/api';
import { BACKPLANE, type Backplane } from '../backplane/backplane';
import { DomainError } from '../common/domain-error';
import { NodeHealthService } from '../nodes/node-health.service';
import { SESSION_STORE, SessionStore } from '../sessions/store/session-store';
import { LOCAL_STACK_ENV } from '../shared/local-stack-env';

/** The media cluster main.ts started when no --url was given (either engine), or null. */
export const EMBEDDED_CLUSTER = Symbol('EmbeddedCluster');

/** The sample app's demo hooks; only the embedded media cluster's nodes can be crashed on purpose. */
@Injectable()
export class DevModeService {
  private readonly logger = new Logger(DevModeService.name);

  constructor(
    @Inject(EMBEDDED_CLUSTER) private readonly cluster: MediaCluster | null,
    @Inject(BACKPLANE) private readonly backplane: Backplane,
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    private readonly health: NodeHealthService,
  ) {}

  info(): AppInfo {
    const instance = { pid: process.pid, store: this.backplane.kind, crashable: this.instanceCrashable() };
    if (!this.cluster)
      return {
        devCluster: false,
        nodes: this.health.urls().map((url) => ({ url, status: this.health.status(url) })),
        instance,
      };
    return {
      devCluster: true,
      nodes: this.cluster
        .nodes()
        .map((n) => ({ url: n.url, status: this.health.status(n.url), name: n.name, pid: n.pid, process: n.state })),
      instance,
    };
  }

  async crashNodeOf(sessionId: string): Promise<{ killed: string; url: string }> {
    if (!this.cluster)
      throw new DomainError(
        'not-dev-cluster',
        'crash-node works only with the embedded dev cluster (start without --url)',
      );
    const session = await this.store.get(sessionId);
    if (!session) throw new DomainError('not-found', `no session ${sessionId}`);
    const node = this.cluster.nodes().find((n) => n.url === session.nodeUrl);
    if (!node)
      throw new DomainError(
        'not-found',
        `session ${sessionId} is on ${session.nodeUrl}, which is not an embedded cluster node`,
      );
    if (node.state === 'dead') throw new DomainError('conflict', `${node.name} (${node.url}) is already dead`);
    this.logger.warn(`crashing ${node.name} (${node.url}, pid ${node.pid}) on request, session ${sessionId}`);
    await this.cluster.kill(node.name);
    return { killed: node.name, url: node.url };
  }

  /**
   * The sample app's "crash my backend instance": this process SIGKILLs itself right after answering,
   * as a crash would (no shutdown hooks). Only in `npm run cluster`, where other instances take over.
   */
  crashInstance(): { killed: number } {
    if (!this.instanceCrashable()) {
      throw new DomainError(
        'not-dev-cluster',
        'crash-instance works only for instances started by npm run cluster (several instances over Redis)',
      );
    }
    this.logger.warn(`SIGKILL of this instance (pid ${process.pid}) on request`);
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 50);
    return { killed: process.pid };
  }

  private instanceCrashable(): boolean {
    return process.env[LOCAL_STACK_ENV] === '1' && this.backplane.kind === 'redis';
  }
}
