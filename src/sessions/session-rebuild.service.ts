import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { CLOCK, Clock } from '../common/clock';
import { BoundedWorkQueue } from '../common/bounded-work-queue';
import { SingleFlight } from '../common/keyed-lock';
import { NODE_DOWN, NODE_UP, NodeTransitionEvent, ProbeTrigger } from '../cluster/node-health.events';
import { NodeHealthService } from '../cluster/node-health.service';
import type { NodeTransition } from '../cluster/node-health.state';
import { NodePlacementService, PlacedRoom } from '../cluster/node-placement.service';
import { MetricsService } from '../ops/metrics.service';
import type { RejoinReason } from '../contracts';
import { SESSION_STORE, SessionStore } from './store/session-store';
import { SESSION_MOVED, SESSION_WAITING, SessionMovedEvent, SessionWaitingEvent } from './session.events';
import { activeParticipants, SessionRecord } from './session.model';
import { BUSY_ELSEWHERE, SessionLocks } from './session-locks';
import { TokenService } from './token.service';

/** A session whose new node dies during its rebuild is moved again, at most this many times in a row. */
export const MAX_REBUILD_ROUNDS = 3;

/**
 * Rebuilds in flight at once, across every node's herd. Each costs one CreateRoom on the target node;
 * more in parallel barely shortens a herd of 100 (the nodes answer one at a time) but piles load on the
 * node it lands on; see bench:rebuild-herd for the figures behind the number.
 */
export const REBUILD_CONCURRENCY = 8;

/** Injection token for the queue's width: REBUILD_CONCURRENCY unless a benchmark sizes it. */
export const REBUILD_QUEUE_WIDTH = Symbol('RebuildQueueWidth');

/**
 * Test hook (env SESSION_REBUILDER_TEST_REBUILD_PAUSE_MS): each rebuild waits this long between
 * CreateRoom and the write, so the scale-out specs can run two instances' rebuilds side by side and
 * kill an instance in the middle of one. 0 (the default) in every real run.
 */
export const REBUILD_TEST_PAUSE_MS = Symbol('RebuildTestPauseMs');

export const NO_NODE_MESSAGE = 'no media node is up; the session will be rebuilt as soon as one comes back';

export function rejoinReasonFor(transition: NodeTransition, trigger: ProbeTrigger): RejoinReason {
  if (trigger === 'report') return 'client-report';
  return transition.cause === 'timeout' ? 'node-hung' : 'node-down';
}

/**
 * Moves sessions off dead nodes: place, recreate the room, raise the generation, mint a fresh token per
 * participant and push it. One rebuild per session at a time; concurrent triggers share its result.
 */
@Injectable()
export class SessionRebuildService {
  private readonly logger = new Logger(SessionRebuildService.name);
  private readonly flights = new SingleFlight<SessionRecord | undefined | typeof BUSY_ELSEWHERE>();
  /** Biggest sessions first: they are the most people frozen, and placing them early spreads the load evenly. */
  private readonly queue: BoundedWorkQueue;

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly health: NodeHealthService,
    private readonly placement: NodePlacementService,
    private readonly tokens: TokenService,
    private readonly events: EventEmitter2,
    private readonly locks: SessionLocks,
    private readonly metrics: MetricsService,
    @Optional() @Inject(REBUILD_QUEUE_WIDTH) queueWidth: number = REBUILD_CONCURRENCY,
    @Optional() @Inject(REBUILD_TEST_PAUSE_MS) private readonly testPauseMs: number = 0,
  ) {
    this.queue = new BoundedWorkQueue(queueWidth);
  }

  /** The path from detection to rebuild: every session on the dead node moves. */
  @OnEvent(NODE_DOWN)
  onNodeDown(event: NodeTransitionEvent): Promise<void> {
    return this.rebuildNode(event.url, rejoinReasonFor(event.transition, event.trigger));
  }

  /** A node is back: sessions that were waiting for one are placed. */
  @OnEvent(NODE_UP)
  onNodeUp(): Promise<void> {
    return this.rebuildWaiting();
  }

  /** Every session on a dead node, biggest first through the bounded queue. Never rejects: failures are logged and counted. */
  async rebuildNode(nodeUrl: string, reason: RejoinReason): Promise<void> {
    await this.rebuildAll('rebuild-node', async () => (await this.store.listByNode(nodeUrl)).filter((s) => !s.waitingForNode), nodeUrl, reason);
  }

  /** Every session waiting for a node, once one is up. Never rejects. */
  async rebuildWaiting(): Promise<void> {
    await this.rebuildAll('rebuild-waiting', async () => (await this.store.list()).filter((s) => s.waitingForNode), undefined, 'node-recovered');
  }

  private async rebuildAll(task: string, find: () => Promise<SessionRecord[]>, fromUrl: string | undefined, reason: RejoinReason): Promise<void> {
    try {
      // Shuffled before the queue sorts them by size: instances sharing a store all see a node die and
      // would otherwise walk its sessions in the same order, queueing behind each other's leases;
      // shuffled, each mostly takes sessions the others have not reached (for those, a no-op).
      const sessions = shuffled(await find());
      // First pass: sessions another instance is rebuilding right now are skipped, not waited for (its
      // lease would hold a queue slot here for the whole of its rebuild). Second pass, once the first is
      // done: those, waiting this time; by then they are mostly moved, and the check is a read. One
      // whose instance died half-way is finished here once its lease expires.
      const sizes = new Map(sessions.map((s) => [s.sessionId, activeParticipants(s).length]));
      const first = await Promise.allSettled(sessions.map((s) => this.rebuild(s.sessionId, fromUrl, reason, sizes.get(s.sessionId), { skipIfBusyElsewhere: true })));
      const skipped = sessions.filter((_, i) => first[i]!.status === 'fulfilled' && (first[i] as PromiseFulfilledResult<unknown>).value === BUSY_ELSEWHERE);
      const second = await Promise.allSettled(skipped.map((s) => this.rebuild(s.sessionId, fromUrl, reason, sizes.get(s.sessionId))));
      for (const result of [...first, ...second]) if (result.status === 'rejected') this.metrics.backgroundFailure(task, result.reason, this.logger);
    } catch (error) {
      this.metrics.backgroundFailure(task, error, this.logger);
    }
  }

  /**
   * Moves the session off `fromUrl` (undefined: out of waiting-for-node). A trigger that arrives after
   * the session already moved is a no-op answering the current record.
   */
  rebuild(sessionId: string, fromUrl: string | undefined, reason: RejoinReason, priority?: number): Promise<SessionRecord | undefined>;
  /** With `skipIfBusyElsewhere`: BUSY_ELSEWHERE, doing nothing, while another instance holds the session. */
  rebuild(
    sessionId: string,
    fromUrl: string | undefined,
    reason: RejoinReason,
    priority: number | undefined,
    options: { skipIfBusyElsewhere: true },
  ): Promise<SessionRecord | undefined | typeof BUSY_ELSEWHERE>;
  async rebuild(
    sessionId: string,
    fromUrl: string | undefined,
    reason: RejoinReason,
    priority = 0,
    options: { skipIfBusyElsewhere?: boolean } = {},
  ): Promise<SessionRecord | undefined | typeof BUSY_ELSEWHERE> {
    const once = (from: string | undefined, skip: boolean) =>
      this.flights.run(sessionId, () =>
        this.queue.run(priority, () => {
          const work = () => this.rebuildOnce(sessionId, from, reason);
          return skip ? this.locks.runUnlessBusyElsewhere(sessionId, work) : this.locks.run(sessionId, work);
        }),
      );
    // A caller that waits may have joined a flight that skipped: it then runs its own, waiting.
    const settled = async (from: string | undefined) => {
      let result = await once(from, false);
      while (result === BUSY_ELSEWHERE) result = await once(from, false);
      return result;
    };
    const first = await once(fromUrl, options.skipIfBusyElsewhere === true);
    if (first === BUSY_ELSEWHERE && options.skipIfBusyElsewhere) return first;
    let session = first === BUSY_ELSEWHERE ? await settled(fromUrl) : first;
    for (let round = 1; round < MAX_REBUILD_ROUNDS && session && !session.waitingForNode; round++) {
      if (this.health.status(session.nodeUrl) !== 'down') break;
      session = await settled(session.nodeUrl);
    }
    return session;
  }

  isRebuilding(sessionId: string): boolean {
    return this.flights.isRunning(sessionId);
  }

  /** Resolves once no rebuild is in flight, or at `timeoutMs`; answers how many were still running. */
  async whenIdle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.flights.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.flights.size;
  }

  private async rebuildOnce(sessionId: string, fromUrl: string | undefined, reason: RejoinReason): Promise<SessionRecord | undefined> {
    const session = await this.store.get(sessionId);
    if (!session) return undefined;
    const needed = session.waitingForNode || (session.nodeUrl === fromUrl && this.health.status(session.nodeUrl) !== 'up');
    if (!needed) return session;
    const participants = activeParticipants(session);
    if (participants.length === 0) {
      await this.store.delete(sessionId);
      this.logger.log({ msg: `session ${sessionId} ended: its node ${session.nodeUrl} went down with nobody left to re-invite`, sessionId, nodeUrl: session.nodeUrl });
      return undefined;
    }

    const started = performance.now();
    let placed: PlacedRoom | undefined;
    let refusal: string | undefined;
    try {
      placed = await this.placement.createRoomOnBestNode(sessionId, session.room, participants.length);
    } catch (error) {
      // Nodes are up but refuse the room (bad credentials, say): wait like with no node, retried on the next node-up.
      refusal = error instanceof Error ? error.message : String(error);
      this.logger.error({ msg: `session ${sessionId} rebuild failed: ${refusal}`, sessionId, fromUrl: session.nodeUrl, generation: session.generation, reason });
      this.metrics.recordRebuild(reason, 'failed', performance.now() - started);
    }
    if (!placed) {
      const alreadyWaiting = session.waitingForNode;
      session.waitingForNode = true;
      await this.store.save(session);
      if (!alreadyWaiting) {
        this.events.emit(SESSION_WAITING, new SessionWaitingEvent(sessionId, session.generation, NO_NODE_MESSAGE, participants.map((p) => p.identity)));
        // One attempt, one outcome: a refused room was already counted as failed.
        if (refusal === undefined) this.metrics.recordRebuild(reason, 'waiting', performance.now() - started);
        const why = refusal === undefined ? 'no node is up' : 'every up node refused the room';
        this.logger.warn({ msg: `session ${sessionId} waiting for a node: ${session.nodeUrl} is down and ${why} (${reason})`, sessionId, nodeUrl: session.nodeUrl, generation: session.generation, reason });
      }
      return session;
    }

    if (this.testPauseMs > 0) {
      this.logger.warn(`session ${sessionId}: rebuild paused ${this.testPauseMs} ms before its write (test hook)`);
      await new Promise((resolve) => setTimeout(resolve, this.testPauseMs));
    }
    const previousUrl = session.nodeUrl;
    session.nodeUrl = placed.url;
    session.roomSid = placed.sid;
    session.generation += 1;
    session.waitingForNode = false;
    session.rebuiltAt = this.clock.now();
    for (const p of participants) {
      // Presence restarts on the new room; a leaving participant keeps its grace deadline.
      if (p.state === 'joined') {
        p.state = 'invited';
        p.invitedAt = this.clock.now();
      }
    }
    try {
      await this.store.save(session);
    } finally {
      placed.settle();
    }
    const tokens = await Promise.all(participants.map((p) => this.tokens.mint(sessionId, p)));
    const invitations = participants.map((p, i) => ({ identity: p.identity, token: tokens[i]! }));
    this.events.emit(SESSION_MOVED, new SessionMovedEvent(sessionId, placed.url, session.generation, reason, invitations));
    const durationMs = performance.now() - started;
    this.metrics.recordRebuild(reason, 'rebuilt', durationMs);
    this.logger.log({
      msg:
        `session ${sessionId} rebuilt in ${durationMs.toFixed(1)} ms: ${previousUrl} -> ${placed.url}, generation ${session.generation}, ` +
        `${participants.length} participant(s) re-invited (${reason})`,
      sessionId,
      fromUrl: previousUrl,
      nodeUrl: placed.url,
      generation: session.generation,
      identities: participants.map((p) => p.identity),
      reason,
      durationMs: Math.round(durationMs * 10) / 10,
    });
    return session;
  }
}

/** A copy in random order (Fisher-Yates). */
function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
