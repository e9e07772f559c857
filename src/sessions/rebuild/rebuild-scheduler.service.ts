import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { CLOCK, Clock, TimerHandle } from '../../common/clock';
import type { NodeStatus, RejoinReason } from '../../contracts';
import { OnAppEvent } from '../../events/app-events';
import type { NodeTransition, NodeTransitionEvent, ProbeTrigger } from '../../events/node.events';
import { NodeHealthService } from '../../nodes/node-health.service';
import { ROOM_LOCATOR, type RoomLocator } from '../../nodes/room-locator';
import { MetricsService } from '../../observability/metrics.service';
import { LOSS_REPORT_WINDOW_MS, lossQuorum } from '../session-policy';
import { SESSION_STORE, type SessionPlacement, SessionStore } from '../store/session-store';
import { activeParticipants, SessionRecord } from '../session.model';
import { BUSY_ELSEWHERE } from '../session-locks';
import { SessionMoverService } from './session-mover.service';

/**
 * A herd that could not finish (the store failed under it: Redis away for a moment) is tried again this
 * soon, and again, while its node stays down. A retry waits at most the store's command timeout for an
 * answer, so a Redis that comes back is used within about this long.
 */
export const HERD_RETRY_MS = 500;

export function rejoinReasonFor(transition: NodeTransition, trigger: ProbeTrigger): RejoinReason {
  if (trigger === 'report') return 'client-report';
  return transition.cause === 'timeout' ? 'node-hung' : 'node-down';
}

/**
 * Which sessions move, and when: a dead node's herd (node-down), the sessions waiting for a node
 * (node-up), sessions a failed herd left behind (retried, and at each sweep), and one session whose
 * node a join, a rejoin or a client's report finds down (ensureLive, the one way in from outside).
 * Each move is SessionMoverService's.
 */
@Injectable()
export class RebuildScheduler implements OnModuleDestroy {
  private readonly logger = new Logger(RebuildScheduler.name);
  /** Herds in progress on this instance, by node url. */
  private readonly herds = new Map<string, number>();
  /** Herds (by node url, '' for the waiting sessions) that failed on the store, and their next try. */
  private readonly retries = new Map<string, { timer: TimerHandle; attempts: number }>();
  private stopped = false;

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly health: NodeHealthService,
    @Inject(ROOM_LOCATOR) private readonly locator: RoomLocator,
    private readonly mover: SessionMoverService,
    private readonly metrics: MetricsService,
  ) {}

  /** The path from detection to rebuild: every session on the dead node moves. */
  @OnAppEvent('node-down')
  async onNodeDown(event: NodeTransitionEvent): Promise<void> {
    const reason = rejoinReasonFor(event.transition, event.trigger);
    await this.rebuildNode(event.url, reason);
    await this.rebuildUnplaced(reason);
  }

  /** A node is back: sessions that were waiting for one are placed. */
  @OnAppEvent('node-up')
  onNodeUp(): Promise<void> {
    return this.rebuildWaiting();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const { timer } of this.retries.values()) this.clock.clearTimeout(timer);
    this.retries.clear();
  }

  /**
   * The one way into one session's rebuild: if the node it is on is down, move it, and answer where it
   * stands then (undefined when nothing moved). Down means known down, or, for the node a client says
   * it lost (`reportedUrl`), found down by a verdict on that report (a lost socket alone moves nobody).
   * `where` saves a read when the caller has just read it. `report`: a client's report nobody waits on,
   * which adds nothing while this instance moves that node's herd, and leaves a session another
   * instance is moving to it.
   */
  async ensureLive(
    sessionId: string,
    {
      reportedUrl,
      where,
      report = false,
    }: {
      reportedUrl?: string;
      where?: Pick<SessionPlacement, 'nodeUrl' | 'waitingForNode'> & { activeParticipants?: number };
      report?: boolean;
    } = {},
  ): Promise<SessionRecord | undefined> {
    if (report && reportedUrl !== undefined && this.isMovingNode(reportedUrl)) return undefined;
    // A report naming a node watched here (independent nodes): the node's verdict comes first, shared by
    // every report, and the session is read only once the node is found down and no herd here moves it.
    // When a node dies all its participants report it at once: read first, that was a store read each
    // (a thousand) at the moment the herd needs the store. The verdict on a report is all that moves.
    let reportVerdict: NodeStatus | undefined;
    if (report && reportedUrl !== undefined && this.health.urls().includes(reportedUrl)) {
      reportVerdict = await this.health.verdict(reportedUrl);
      if (reportVerdict !== 'down' || this.isMovingNode(reportedUrl)) return undefined;
    }
    const placed = where ?? (await this.store.placement(sessionId));
    if (!placed || placed.waitingForNode) return undefined;
    // The client names the URL it lost (in LiveKit's cluster, the one cluster URL); the node is the one
    // holding the room.
    const reported = reportedUrl === placed.nodeUrl;
    if (report && !reported) return undefined;
    const node = await this.locator.nodeOf({ sessionId, nodeUrl: placed.nodeUrl });
    if (node === undefined || (report && this.isMovingNode(node))) return undefined;
    const status = !reported
      ? this.health.status(node)
      : node === reportedUrl && reportVerdict !== undefined
        ? reportVerdict
        : await this.health.verdict(node);
    if (status !== 'down') return undefined;
    const reason: RejoinReason = reported ? 'client-report' : 'node-down';
    if (!report) return this.mover.move(sessionId, node, reason, placed.activeParticipants);
    // Reports come in hundreds when a node dies, with its herd: then they add nothing.
    if (this.isMovingNode(node)) return undefined;
    const moved = await this.mover.move(sessionId, node, reason, placed.activeParticipants, {
      skipIfBusyElsewhere: true,
    });
    return moved === BUSY_ELSEWHERE ? undefined : moved;
  }

  /**
   * A participant lost its media path to the session's node, and the node answers its probes (a dead one
   * is ensureLive's): the reports are weighed, and once a quorum of the session's participants made one
   * within LOSS_REPORT_WINDOW_MS, the session leaves the node and the node takes no new session for a
   * while (marked failing for clients). Answers the session where it went, or undefined.
   */
  async weighLossReport(sessionId: string, reportedUrl: string, identity: string): Promise<SessionRecord | undefined> {
    // Only a node that is up is weighed (below): while it is not (a dead node's herd, whose participants
    // all report it), a report costs no read. The URL reported is the node's, or LiveKit's cluster URL,
    // which is up while any member is.
    if (this.health.status(reportedUrl) !== 'up') return undefined;
    const placed = await this.store.placement(sessionId);
    if (!placed || placed.waitingForNode || placed.nodeUrl !== reportedUrl) return undefined;
    const node = await this.locator.nodeOf({ sessionId, nodeUrl: placed.nodeUrl });
    if (node === undefined || this.health.status(node) !== 'up') return undefined;
    const reporters = await this.store.recordLossReport(sessionId, node, identity, LOSS_REPORT_WINDOW_MS);
    const needed = lossQuorum(placed.activeParticipants);
    this.logger.log({
      msg: `session ${sessionId}: ${identity} lost its media path to ${node}, which answers its probes (${reporters} of ${needed} reports needed)`,
      sessionId,
      identity,
      nodeUrl: node,
    });
    if (reporters < needed) return undefined;
    const why = `lost its participants' media path (${reporters} of ${placed.activeParticipants} reported it within ${LOSS_REPORT_WINDOW_MS / 1000} s) while it answers its probes`;
    // One participant's word moves its own session, never a node's reputation: marking needs two.
    if (reporters >= 2)
      this.health.markFailingForClients(node, `participants of session ${sessionId} lost their media path to it`);
    return this.mover.leaveFailingNode(sessionId, node, why, placed.activeParticipants);
  }

  /** Whether a move of this session is in flight on this instance. */
  isMoving(sessionId: string): boolean {
    return this.mover.isMoving(sessionId);
  }

  /** Resolves once no move (nor its CreateRoom) is in flight, or at `timeoutMs`; answers how many were still running. */
  whenIdle(timeoutMs: number): Promise<number> {
    return this.mover.whenIdle(timeoutMs);
  }

  /**
   * Every session on a dead node, biggest first through the bounded queue. Never rejects: failures are
   * logged and counted, and a herd the store failed is tried again (HERD_RETRY_MS) while the node is down.
   */
  async rebuildNode(nodeUrl: string, reason: RejoinReason): Promise<void> {
    this.herds.set(nodeUrl, (this.herds.get(nodeUrl) ?? 0) + 1);
    let finished: boolean;
    try {
      finished = await this.rebuildAll(
        'rebuild-node',
        async () => {
          // Its rooms are read first; then LiveKit's cluster stops placing rooms there before anyone is
          // pushed to come back (a room re-placed after that is found on a live member, see rebuildOnce).
          const sessions = await this.sessionsOn(nodeUrl);
          await this.locator.evict(nodeUrl);
          return sessions;
        },
        nodeUrl,
        reason,
      );
    } finally {
      const left = this.herds.get(nodeUrl)! - 1;
      if (left > 0) this.herds.set(nodeUrl, left);
      else this.herds.delete(nodeUrl);
    }
    this.retryUnlessFinished(nodeUrl, finished, () =>
      this.health.status(nodeUrl) === 'down' ? this.rebuildNode(nodeUrl, reason) : undefined,
    );
  }

  /**
   * LiveKit's cluster with every member down: the sessions no member's room list names (moved there as
   * the last members died, their CreateRoom failed) wait for a node too. The others are their member's
   * herd's. Never rejects.
   */
  private async rebuildUnplaced(reason: RejoinReason): Promise<void> {
    if (!this.locator.roomOutlivesNode) return;
    for (const url of this.health.downSessionUrls()) {
      try {
        const records = await this.store.getMany(await this.store.sessionIdsOn(url));
        const moving = records.filter((s): s is SessionRecord => s !== undefined && !s.waitingForNode);
        await Promise.allSettled(moving.map((s) => this.mover.move(s.sessionId, url, reason)));
      } catch (error) {
        this.failed('rebuild-unplaced', error, false);
      }
    }
  }

  /**
   * Whether this instance is moving every session off `nodeUrl` right now. A client's report about a
   * session on it adds nothing then: the herd read the node's sessions when it started (none can be
   * placed on a dead node since), and a report per participant would each take a queue slot and three
   * store round trips to find its session moved.
   */
  isMovingNode(nodeUrl: string): boolean {
    return this.herds.has(nodeUrl);
  }

  /** Every session waiting for a node, once one is up. Never rejects; tried again like a herd if the store failed. */
  async rebuildWaiting(): Promise<void> {
    const finished = await this.rebuildAll(
      'rebuild-waiting',
      () => this.store.listWaiting(),
      undefined,
      'node-recovered',
    );
    this.retryUnlessFinished('', finished, () =>
      this.health.placeableUrls().length > 0 ? this.rebuildWaiting() : undefined,
    );
  }

  /**
   * Sessions still on a node known down, which no herd of this instance is moving: one the store failed
   * and whose retry has not come yet, or whose herd ran on an instance that died. Called at each sweep.
   */
  async rebuildStranded(): Promise<void> {
    for (const url of this.health.downNodes()) {
      if (this.isMovingNode(url) || this.retries.has(url)) continue;
      if ((await this.locator.roomsOn(url)).length > 0) await this.rebuildNode(url, 'node-down');
    }
    await this.rebuildUnplaced('node-down');
  }

  /**
   * The sessions whose rooms are on `nodeUrl` and that wait for no node. Each record is read after the
   * node's room list: another instance may have moved a session in between, and its record (on a live
   * node, at a new generation) must not be listed here, or the move would trust the listing and move it
   * again from where it had just gone (seen in test/e2e/double-faults, a herd chasing a dying node).
   */
  private async sessionsOn(nodeUrl: string): Promise<SessionRecord[]> {
    const records = await this.store.getMany(await this.locator.roomsOn(nodeUrl));
    const sessions = await Promise.all(
      records.map(async (session) => {
        if (!session || session.waitingForNode) return undefined;
        return (await this.locator.nodeOf(session)) === nodeUrl ? session : undefined;
      }),
    );
    return sessions.filter((s): s is SessionRecord => s !== undefined);
  }

  private retryUnlessFinished(key: string, finished: boolean, retry: () => Promise<void> | undefined): void {
    const pending = this.retries.get(key);
    if (pending) this.clock.clearTimeout(pending.timer);
    if (finished || this.stopped) {
      if (pending?.attempts)
        this.logger.log({
          msg: `${key ? `herd of ${key}` : 'sessions waiting for a node'}: finished after ${pending.attempts} retries`,
          nodeUrl: key || undefined,
        });
      this.retries.delete(key);
      return;
    }
    const attempts = (pending?.attempts ?? 0) + 1;
    if (attempts === 1)
      this.logger.warn({
        msg: `${key ? `herd of ${key}` : 'sessions waiting for a node'}: not finished (the store failed); trying again every ${HERD_RETRY_MS} ms`,
        nodeUrl: key || undefined,
      });
    const timer = this.clock.setTimeout(() => {
      const done = retry();
      // Nothing left to do (the node is back, say): the streak ends here.
      if (!done) this.retries.delete(key);
    }, HERD_RETRY_MS);
    this.retries.set(key, { timer, attempts });
  }

  /** Answers whether every session was handled (false when the store failed to list them or to move one). */
  private async rebuildAll(
    task: string,
    find: () => Promise<SessionRecord[]>,
    fromUrl: string | undefined,
    reason: RejoinReason,
  ): Promise<boolean> {
    const retrying = this.retries.has(fromUrl ?? '');
    try {
      // Shuffled before the queue sorts them by size: instances sharing a store all see a node die and
      // would otherwise walk its sessions in the same order, queueing behind each other's leases;
      // shuffled, each mostly takes sessions the others have not reached (for those, a no-op).
      const sessions = shuffled(await find());
      // First pass: sessions another instance is rebuilding right now are skipped, not waited for (its
      // lease would hold a queue slot here for the whole of its rebuild). Second pass, once the first is
      // done: those, waiting this time; by then they are mostly moved, and the check is a read. One
      // whose instance died half-way is finished here once its lease expires.
      // A dead node's herd goes in batches (a store round trip per step for many sessions at once).
      const sizes = new Map(sessions.map((s) => [s.sessionId, activeParticipants(s).length]));
      const first =
        fromUrl === undefined
          ? await Promise.allSettled(
              sessions.map((s) =>
                this.mover.move(s.sessionId, fromUrl, reason, sizes.get(s.sessionId), { skipIfBusyElsewhere: true }),
              ),
            )
          : await this.mover.moveHerd(
              sessions.map((s) => ({
                sessionId: s.sessionId,
                generation: s.generation,
                size: sizes.get(s.sessionId)!,
              })),
              fromUrl,
              reason,
            );
      const skipped = sessions.filter(
        (_, i) =>
          first[i]!.status === 'fulfilled' && (first[i] as PromiseFulfilledResult<unknown>).value === BUSY_ELSEWHERE,
      );
      const second = await Promise.allSettled(
        skipped.map((s) =>
          fromUrl === undefined
            ? this.mover.move(s.sessionId, fromUrl, reason, sizes.get(s.sessionId))
            : this.mover.move(s.sessionId, fromUrl, reason, sizes.get(s.sessionId), { listedGeneration: s.generation }),
        ),
      );
      const failures = [...first, ...second].filter(
        (result): result is PromiseRejectedResult => result.status === 'rejected',
      );
      // One line per attempt, not per session; a retry's failures are counted, not logged again.
      if (failures.length > 0)
        this.failed(
          task,
          new Error(`${failures.length} of ${sessions.length} rebuild(s) failed: ${describe(failures[0]!.reason)}`),
          retrying,
        );
      return failures.length === 0;
    } catch (error) {
      this.failed(task, error, retrying);
      return false;
    }
  }

  private failed(task: string, error: unknown, quietly: boolean): void {
    if (quietly) this.metrics.backgroundFailure(task, error);
    else this.metrics.backgroundFailure(task, error, this.logger);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
