import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DevCluster } from '../dev-cluster/api';
import { DomainError } from '../common/domain-error';
import { NodeHealthService } from '../cluster/node-health.service';
import type { NodeStatus } from '../cluster/node-health.state';
import { SESSION_STORE, SessionStore } from '../sessions/store/session-store';

export const DEV_CLUSTER = Symbol('DevCluster');

export interface InfoNode {
  url: string;
  status: NodeStatus | undefined;
  name?: string;
  pid?: number;
  process?: string;
}

export interface AppInfo {
  devCluster: boolean;
  nodes: InfoNode[];
}

/** The sample app's demo hooks; only the embedded dev cluster can be crashed on purpose. */
@Injectable()
export class DevModeService {
  private readonly logger = new Logger(DevModeService.name);

  constructor(
    @Inject(DEV_CLUSTER) private readonly cluster: DevCluster | null,
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    private readonly health: NodeHealthService,
  ) {}

  info(): AppInfo {
    if (!this.cluster) return { devCluster: false, nodes: this.health.urls().map((url) => ({ url, status: this.health.status(url) })) };
    return {
      devCluster: true,
      nodes: this.cluster.nodes().map((n) => ({ url: n.url, status: this.health.status(n.url), name: n.name, pid: n.pid, process: n.state })),
    };
  }

  async crashNodeOf(sessionId: string): Promise<{ killed: string; url: string }> {
    if (!this.cluster) throw new DomainError('not-dev-cluster', 'crash-node works only with the embedded dev cluster (start without --url)');
    const session = await this.store.get(sessionId);
    if (!session) throw new DomainError('not-found', `no session ${sessionId}`);
    const node = this.cluster.nodes().find((n) => n.url === session.nodeUrl);
    if (!node) throw new DomainError('not-found', `session ${sessionId} is on ${session.nodeUrl}, which is not a dev cluster node`);
    if (node.state === 'dead') throw new DomainError('conflict', `${node.name} (${node.url}) is already dead`);
    this.logger.warn(`crashing ${node.name} (${node.url}, pid ${node.pid}) on request, session ${sessionId}`);
    await this.cluster.kill(node.name);
    return { killed: node.name, url: node.url };
  }
}
