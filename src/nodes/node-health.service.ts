import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CLOCK, Clock, TimerHandle } from '../common/clock';
import { SingleFlight } from '../common/keyed-lock';
import {
  FAILING_FOR_CLIENTS_MS,
  HUNG_AFTER_MS,
  LOOP_LAG_ALLOWANCE_MS,
  MAX_PROBES_IN_FLIGHT,
  PROBE_GIVE_UP_MS,
  PROBE_INTERVAL_MS,
  REPORT_PROBE_AFTER_MS,
} from './node-health.policy';
import { AppEvents } from '../events/app-events';
import type { NodeStatus } from '../contracts';
import type { NodeTransition, ProbeFailureKind, ProbeTrigger } from '../events/node.events';
import { NodeHealthSnapshot, NodeHealthState, ProbeResult } from './node-health.state';
import { NODE_PROBER, NodeProber } from './node-prober';
import {
  BOARD_FRESH_MS,
  BOARD_REFRESH_MS,
  NODE_HEALTH_BOARD,
  NodeHealthBoard,
  PeerNodeView,
} from './node-health-board';

interface WatchedNode {
  state: NodeHealthState;
  timer?: TimerHandle;
  /** Probes sent and neither answered nor given up. */
  inFlight: number;
  /** When the current probe timer should fire, and when the previous one did. */
  dueAt: number;
  lastTickAt: number;
  /** When the last probe (any trigger) left: a report probes of its own only when none left lately (nextAnswer). */
  lastSentAt: number;
  /** Verdicts waiting for the node's next answer. */
  answerWaiters: Set<(result: ProbeResult) => void>;
}

/** A verdict waits at most this for an answer or the hung call (the loop's ticks count the silence). */
const VERDICT_WAIT_MS = HUNG_AFTER_MS + 3 * PROBE_INTERVAL_MS;

/** Watches every configured node with a probe loop and announces node-down / node-up / node-suspect (events/node.events.ts). */
@Injectable()
export class NodeHealthService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(NodeHealthService.name);
  private readonly nodes = new Map<string, WatchedNode>();
  private readonly onDemand = new SingleFlight<ProbeResult>();
  /** Resolvers waiting for the next transition of a node (a verdict must not wait out a probe already decided elsewhere). */
  private readonly transitionWaiters = new Map<string, Set<() => void>>();
  private stopped = false;
  private boardTimer?: ReturnType<typeof setInterval>;
  /** Set once the board is joined: announces a node's transition to the other instances. */
  private shareTransition: (url: string) => void = () => undefined;
  /**
   * LiveKit's own cluster (--livekit-redis): the one URL sessions live on. Its members are watched as
   * they register (watch / forget); the cluster URL itself is up while any member is.
   */
  private readonly clusterUrl: string | undefined;
  /** Nodes that answer probes but whose participants lost their media path to them, until when and why. */
  private readonly failingForClients = new Map<string, { since: number; until: number; reason: string }>();
  private bootstrapped = false;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(NODE_PROBER) private readonly prober: NodeProber,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly events: AppEvents,
    /** What each instance sees of the nodes, shared (the backplane's; with one instance, nobody to share with). */
    @Inject(NODE_HEALTH_BOARD) private readonly board: NodeHealthBoard,
  ) {
    this.clusterUrl = config.clusterMode ? config.urls[0] : undefined;
    if (!this.clusterUrl) for (const url of config.urls) this.nodes.set(url, this.newNode(url));
  }

  private newNode(url: string): WatchedNode {
    return {
      state: new NodeHealthState(url, this.clock.now()),
      inFlight: 0,
      dueAt: 0,
      lastTickAt: 0,
      lastSentAt: -Infinity,
      answerWaiters: new Set(),
    };
  }

  /** A node to watch from now on (a member of LiveKit's cluster that registered): probed at once, then by the loop. */
  watch(url: string): void {
    if (this.nodes.has(url) || this.stopped) return;
    const node = this.newNode(url);
    this.nodes.set(url, node);
    if (!this.bootstrapped) return; // the start-up probes it with the others
    node.lastTickAt = this.clock.now();
    this.schedule(url);
    void this.probe(url, 'startup');
  }

  /** A node no longer watched (it left LiveKit's registry and is not up). */
  forget(url: string): void {
    const node = this.nodes.get(url);
    if (!node) return;
    if (node.timer) this.clock.clearTimeout(node.timer);
    this.nodes.delete(url);
    for (const resolve of this.transitionWaiters.get(url) ?? []) resolve();
    this.transitionWaiters.delete(url);
  }

  /** One probe of every node before the app listens, so the first join finds the nodes up. */
  async onApplicationBootstrap(): Promise<void> {
    // A hung node must not hold the start up: its silence is judged by the loop like any other.
    await Promise.all([...this.nodes.keys()].map((url) => this.within(this.probe(url, 'startup'), HUNG_AFTER_MS)));
    const now = this.clock.now();
    for (const [url, node] of this.nodes) {
      node.lastTickAt = now;
      this.schedule(url);
    }
    this.bootstrapped = true;
    this.joinBoard(this.board);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const node of this.nodes.values()) if (node.timer) this.clock.clearTimeout(node.timer);
    if (this.boardTimer) clearInterval(this.boardTimer);
  }

  /** Every other instance's fresh view of each node (none with one instance). */
  async peerViews(): Promise<PeerNodeView[]> {
    const board = this.board;
    return (await board.read(this.urls(), BOARD_FRESH_MS)).filter((view) => view.instance !== board.instance);
  }

  urls(): string[] {
    return [...this.nodes.keys()];
  }

  /** A watched node's status; the cluster URL's is up while any member is (down once all are down). */
  status(url: string): NodeStatus | undefined {
    if (url === this.clusterUrl) {
      const members = [...this.nodes.values()].map((node) => node.state.status);
      if (members.includes('up')) return 'up';
      return members.some((status) => status === 'down' || status === 'suspect') ? 'down' : 'unknown';
    }
    return this.nodes.get(url)?.state.status;
  }

  snapshots(): NodeHealthSnapshot[] {
    return [...this.nodes.values()].map((node) => node.state.snapshot());
  }

  downNodes(): string[] {
    return [...this.nodes.values()].filter((node) => node.state.status === 'down').map((node) => node.state.url);
  }

  upNodes(): string[] {
    return [...this.nodes.values()].filter((node) => node.state.status === 'up').map((node) => node.state.url);
  }

  /**
   * `url` answers its probes, yet the participants of a session on it lost their media path to it (a
   * firewall dropping UDP, its public interface down): it takes no new session for FAILING_FOR_CLIENTS_MS.
   * Its probes go on; it is placeable again once that time is over.
   */
  markFailingForClients(url: string, reason: string): void {
    const now = this.clock.now();
    const already = this.failingForClients.get(url);
    this.failingForClients.set(url, { since: already?.since ?? now, until: now + FAILING_FOR_CLIENTS_MS, reason });
    if (!already)
      this.logger.warn({
        msg: `node ${url} failing for clients: ${reason}; no new sessions for ${FAILING_FOR_CLIENTS_MS / 1000} s`,
        nodeUrl: url,
      });
  }

  /** Whether `url` is marked failing for clients now, since when and why (GET /api/nodes). */
  clientFailure(url: string): { since: number; until: number; reason: string } | undefined {
    const mark = this.failingForClients.get(url);
    if (mark && mark.until <= this.clock.now()) {
      this.failingForClients.delete(url);
      return undefined;
    }
    return mark;
  }

  /**
   * The URLs a session can be placed on now: the up nodes; in LiveKit's cluster, the cluster URL while
   * any member is up (LiveKit places the room on one of them).
   */
  placeableUrls(): string[] {
    if (this.clusterUrl) return this.status(this.clusterUrl) === 'up' ? [this.clusterUrl] : [];
    const up = this.upNodes();
    // Marks never leave nothing to place on: then every up node is tried, marked or not.
    const unmarked = up.filter((url) => !this.clientFailure(url));
    return unmarked.length > 0 ? unmarked : up;
  }

  /** The URLs sessions live on whose node is known down (the cluster URL once every member is). */
  downSessionUrls(): string[] {
    if (this.clusterUrl) return this.status(this.clusterUrl) === 'down' ? [this.clusterUrl] : [];
    return this.downNodes();
  }

  /**
   * A client says its media connection to `url` dropped: wait for real evidence from after the report,
   * an answer (alive: a client's lost socket alone moves nobody), a refused connection (down at once),
   * or HUNG_AFTER_MS of silence counted by the loop (hung). Bounded by VERDICT_WAIT_MS.
   *
   * The evidence is the node's next answer, whichever probe brings it: a report sends a probe of its
   * own only when none left for REPORT_PROBE_AFTER_MS and the node stood up, or when the loop is late
   * (none for PROBE_INTERVAL_MS), so reports, however many, add at most one probe per
   * REPORT_PROBE_AFTER_MS, and a non-200 answer is asked again at the loop's pace, not at once (two
   * answers 406 within milliseconds would be FAILURES_TO_DOWN out of one short blip).
   */
  async verdict(url: string): Promise<NodeStatus | undefined> {
    const node = this.nodes.get(url);
    if (!node) return undefined;
    if (this.stopped) return node.state.status;
    let timer: TimerHandle | undefined;
    const waited = new Promise<'waited'>(
      (resolve) => (timer = this.clock.setTimeout(() => resolve('waited'), VERDICT_WAIT_MS)),
    );
    try {
      for (;;) {
        const answer = this.nextAnswer(url, node);
        const transition = this.nextTransition(url);
        const result = await Promise.race([
          answer.promise,
          transition.promise.then(() => 'transition' as const),
          waited,
        ]);
        answer.cancel();
        transition.cancel();
        const status = node.state.status;
        if (result === 'waited' || status === 'down') return status;
        if (result === 'transition') continue; // up -> suspect, say: keep waiting for evidence
        // An answer proves the process alive; a non-200 one is asked again until FAILURES_TO_DOWN decide.
        if (result.ok || result.kind === 'timeout') return status;
      }
    } finally {
      if (timer) this.clock.clearTimeout(timer);
    }
  }

  /**
   * A call to the node failed outside the probe loop (a RoomService timeout or refused connection): the
   * node is suspect (no new sessions) and probed at once; only the probes' verdict can take it down.
   */
  reportFailure(url: string, cause: ProbeFailureKind, detail: string): void {
    const node = this.nodes.get(url);
    if (!node || this.stopped) return;
    const transition = node.state.markSuspect(`${cause}: ${detail} (RoomService call)`, cause, this.clock.now());
    if (transition) this.emit(url, transition, 'call');
    this.onDemand
      .run(url, () => this.probe(url, 'call'))
      .catch((error: unknown) =>
        this.logger.error(`probe of ${url} failed: ${error instanceof Error ? error.message : String(error)}`),
      );
  }

  private nextTransition(url: string): { promise: Promise<void>; cancel: () => void } {
    let resolver!: () => void;
    const promise = new Promise<void>((resolve) => (resolver = resolve));
    const waiters = this.transitionWaiters.get(url) ?? new Set<() => void>();
    this.transitionWaiters.set(url, waiters.add(resolver));
    return { promise, cancel: () => void this.transitionWaiters.get(url)?.delete(resolver) };
  }

  /** The node's next probe answer: from a probe of its own when none left lately, else the loop's. */
  private nextAnswer(url: string, node: WatchedNode): { promise: Promise<ProbeResult>; cancel: () => void } {
    const quiet = this.clock.now() - node.lastSentAt;
    const probeNow =
      (quiet >= PROBE_INTERVAL_MS || (quiet >= REPORT_PROBE_AFTER_MS && node.state.status === 'up')) &&
      node.inFlight < MAX_PROBES_IN_FLIGHT;
    if (probeNow || this.onDemand.isRunning(url))
      return { promise: this.onDemand.run(url, () => this.probe(url, 'report')), cancel: () => undefined };
    let resolver!: (result: ProbeResult) => void;
    const promise = new Promise<ProbeResult>((resolve) => (resolver = resolve));
    node.answerWaiters.add(resolver);
    return { promise, cancel: () => void node.answerWaiters.delete(resolver) };
  }

  private schedule(url: string): void {
    const node = this.nodes.get(url);
    if (!node || this.stopped) return;
    node.dueAt = this.clock.now() + PROBE_INTERVAL_MS;
    node.timer = this.clock.setTimeout(() => this.tick(url), PROBE_INTERVAL_MS);
  }

  /**
   * One loop step: send a probe (earlier ones stay in flight), then count the node's silence since the
   * last step. A timer that fired late measured the backend, not the node: that lateness is left out.
   */
  private tick(url: string): void {
    const node = this.nodes.get(url);
    if (!node || this.stopped) return;
    const now = this.clock.now();
    const backendLateMs = Math.max(0, now - node.dueAt - LOOP_LAG_ALLOWANCE_MS);
    const silenceMs = Math.max(0, now - node.lastTickAt - backendLateMs);
    node.lastTickAt = now;
    this.schedule(url);
    // Judged after pending I/O: an answer already sitting in our socket while we were busy counts first.
    // The new probe leaves after that, so its silence starts counting from the next step.
    setImmediate(() => {
      if (this.stopped) return;
      const transition = node.state.addSilence(silenceMs, this.clock.now());
      if (transition) this.emit(url, transition, 'loop');
      if (node.inFlight < MAX_PROBES_IN_FLIGHT) void this.probe(url, 'loop');
    });
  }

  private async probe(url: string, trigger: ProbeTrigger): Promise<ProbeResult> {
    const node = this.nodes.get(url)!;
    node.inFlight++;
    node.lastSentAt = this.clock.now();
    node.state.probeSent();
    const result = await this.prober.probe(url, PROBE_GIVE_UP_MS);
    node.inFlight--;
    if (this.stopped) return result;
    const transition = node.state.apply(result, this.clock.now(), node.inFlight);
    if (transition) this.emit(url, transition, trigger);
    const waiters = [...node.answerWaiters];
    node.answerWaiters.clear();
    for (const resolve of waiters) resolve(result);
    return result;
  }

  /**
   * Shares this instance's views (now, on every change, and every BOARD_REFRESH_MS so a dead
   * instance's views age out) and listens to the others'. A Redis outage costs only the sharing: the
   * probes and verdicts go on, and the failure is logged at debug level.
   */
  private joinBoard(board: NodeHealthBoard): void {
    const share = (views: PeerNodeView[], announce: boolean) =>
      board
        .publish(views, announce)
        .catch((error: unknown) =>
          this.logger.debug(`node health not shared: ${error instanceof Error ? error.message : String(error)}`),
        );
    void share(this.myViews(), false);
    this.boardTimer = setInterval(() => void share(this.myViews(), false), BOARD_REFRESH_MS);
    this.boardTimer.unref();
    this.shareTransition = (url) =>
      void share(
        this.myViews().filter((view) => view.url === url),
        true,
      );
    // Nothing here is waited for: while Redis is away the subscription waits for it, and the start must not.
    board
      .subscribe((view) => this.peerSaw(view))
      .catch((error: unknown) =>
        this.logger.warn(
          `not listening to other instances' node health: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }

  private myViews(): PeerNodeView[] {
    const at = Date.now();
    return [...this.nodes.values()].map(({ state }) => ({
      url: state.url,
      instance: this.board.instance,
      status: state.status,
      since: state.since,
      reason: state.reason,
      at,
    }));
  }

  /**
   * Another instance saw a node change. Its word moves nothing here: this instance probes the node at
   * once and its own evidence decides (a SIGKILLed node refuses the probe: down one probe later; a
   * live one answers, and the other instance's trouble stays its own).
   */
  private peerSaw(view: PeerNodeView): void {
    const node = this.nodes.get(view.url);
    if (!node || this.stopped || view.status === node.state.status || view.status === 'unknown') return;
    this.onDemand
      .run(view.url, () => this.probe(view.url, 'peer'))
      .catch((error: unknown) =>
        this.logger.error(`probe of ${view.url} failed: ${error instanceof Error ? error.message : String(error)}`),
      );
  }

  private within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = this.clock.setTimeout(() => resolve(undefined), ms)));
    return Promise.race([promise, timeout]).finally(() => timer && this.clock.clearTimeout(timer));
  }

  private emit(url: string, transition: NodeTransition, trigger: ProbeTrigger): void {
    const line = {
      msg: `node ${url} ${transition.from} -> ${transition.to} (${transition.reason}; ${trigger} probe)`,
      nodeUrl: url,
      from: transition.from,
      to: transition.to,
      cause: transition.reason,
      trigger,
    };
    if (transition.to === 'down') this.logger.warn(line);
    else this.logger.log(line);
    this.shareTransition(url);
    const waiters = this.transitionWaiters.get(url) ?? new Set<() => void>();
    this.transitionWaiters.delete(url);
    for (const resolve of waiters) resolve();
    // Listeners run now, synchronously: a rebuild starts in the same tick as the verdict.
    const event = { url, transition, trigger };
    switch (transition.to) {
      case 'down':
        return this.events.emit('node-down', event);
      case 'up':
        return this.events.emit('node-up', event);
      case 'suspect':
        return this.events.emit('node-suspect', event);
      case 'unknown':
        return;
      default: {
        const unreachable: never = transition.to;
        return unreachable;
      }
    }
  }
}
