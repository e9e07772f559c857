import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CLOCK, Clock, TimerHandle } from '../common/clock';
import { SingleFlight } from '../common/keyed-lock';
import { MAX_VERDICT_PROBES, PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS } from './node-health.policy';
import { NodeHealthSnapshot, NodeHealthState, NodeStatus, NodeTransition, ProbeFailureKind, ProbeResult } from './node-health.state';
import { NODE_PROBER, NodeProber } from './node-prober';

export type ProbeTrigger = 'loop' | 'report' | 'startup';
export type NodeTransitionListener = (url: string, transition: NodeTransition, trigger: ProbeTrigger) => void;

interface WatchedNode {
  state: NodeHealthState;
  timer?: TimerHandle;
  /** Sequence number of the newest probe whose result was applied: older results are stale. */
  appliedSeq: number;
}

/** Watches every configured node with a probe loop and tells listeners when one goes down or comes back. */
@Injectable()
export class NodeHealthService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(NodeHealthService.name);
  private readonly nodes = new Map<string, WatchedNode>();
  private readonly listeners: NodeTransitionListener[] = [];
  private readonly onDemand = new SingleFlight<ProbeResult>();
  /** Resolvers waiting for the next transition of a node (a verdict must not wait out a probe already decided elsewhere). */
  private readonly transitionWaiters = new Map<string, Array<() => void>>();
  private probeSeq = 0;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(NODE_PROBER) private readonly prober: NodeProber,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    for (const url of config.urls) this.nodes.set(url, { state: new NodeHealthState(url, clock.now()), appliedSeq: 0 });
  }

  /** One probe of every node before the app listens, so the first join finds the nodes up. */
  async onApplicationBootstrap(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((url) => this.probe(url, 'startup')));
    for (const url of this.nodes.keys()) this.schedule(url, PROBE_INTERVAL_MS);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const node of this.nodes.values()) if (node.timer) this.clock.clearTimeout(node.timer);
  }

  onTransition(listener: NodeTransitionListener): void {
    this.listeners.push(listener);
  }

  urls(): string[] {
    return [...this.nodes.keys()];
  }

  has(url: string): boolean {
    return this.nodes.has(url);
  }

  status(url: string): NodeStatus | undefined {
    return this.nodes.get(url)?.state.status;
  }

  snapshots(): NodeHealthSnapshot[] {
    return [...this.nodes.values()].map((node) => node.state.snapshot());
  }

  upNodes(): string[] {
    return [...this.nodes.values()].filter((node) => node.state.status === 'up').map((node) => node.state.url);
  }

  /**
   * A client says its media connection to `url` dropped: probe at once, back to back, until the node
   * is known up or down (a refused connection decides in one probe, a hang in FAILURES_TO_DOWN timeouts).
   */
  async verdict(url: string): Promise<NodeStatus | undefined> {
    const node = this.nodes.get(url);
    if (!node) return undefined;
    for (let i = 0; i < MAX_VERDICT_PROBES && !this.stopped; i++) {
      const transition = this.nextTransition(url);
      await Promise.race([this.onDemand.run(url, () => this.probe(url, 'report')), transition.promise]);
      transition.cancel();
      if (node.state.status === 'up' || node.state.status === 'down') return node.state.status;
    }
    return node.state.status;
  }

  /** A call to the node failed outside the probe loop (RoomService could not connect). */
  reportFailure(url: string, cause: ProbeFailureKind, detail: string): void {
    const node = this.nodes.get(url);
    if (!node) return;
    const transition = node.state.markDown(`${cause}: ${detail} (RoomService call)`, cause, this.clock.now());
    if (transition) this.emit(url, transition, 'report');
  }

  private nextTransition(url: string): { promise: Promise<void>; cancel: () => void } {
    let resolver!: () => void;
    const promise = new Promise<void>((resolve) => (resolver = resolve));
    this.transitionWaiters.set(url, [...(this.transitionWaiters.get(url) ?? []), resolver]);
    const cancel = () => this.transitionWaiters.set(url, (this.transitionWaiters.get(url) ?? []).filter((r) => r !== resolver));
    return { promise, cancel };
  }

  private schedule(url: string, delayMs: number): void {
    const node = this.nodes.get(url);
    if (!node || this.stopped) return;
    node.timer = this.clock.setTimeout(() => {
      const started = this.clock.now();
      void this.probe(url, 'loop').then(() => this.schedule(url, Math.max(0, PROBE_INTERVAL_MS - (this.clock.now() - started))));
    }, delayMs);
  }

  private async probe(url: string, trigger: ProbeTrigger): Promise<ProbeResult> {
    const node = this.nodes.get(url)!;
    const seq = ++this.probeSeq;
    const result = await this.prober.probe(url, PROBE_TIMEOUT_MS);
    if (this.stopped || seq < node.appliedSeq) return result;
    node.appliedSeq = seq;
    const transition = node.state.apply(result, this.clock.now());
    if (transition) this.emit(url, transition, trigger);
    return result;
  }

  private emit(url: string, transition: NodeTransition, trigger: ProbeTrigger): void {
    const line = `node ${url} ${transition.from} -> ${transition.to} (${transition.reason}; ${trigger} probe)`;
    if (transition.to === 'down') this.logger.warn(line);
    else this.logger.log(line);
    const waiters = this.transitionWaiters.get(url) ?? [];
    this.transitionWaiters.delete(url);
    for (const resolve of waiters) resolve();
    for (const listener of this.listeners) {
      try {
        listener(url, transition, trigger);
      } catch (error) {
        this.logger.error(`node transition listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
