import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { CLOCK, Clock } from '../../common/clock';
import { BoundedWorkQueue } from '../../common/bounded-work-queue';
import { SingleFlight } from '../../common/keyed-lock';
import type { RejoinReason } from '../../contracts';
import { AppEvents } from '../../events/app-events';
import { NodeCallError } from '../../nodes/livekit-room.api';
import { NodeHealthService } from '../../nodes/node-health.service';
import { ROOM_AUTO_CREATE, type RoomAutoCreate } from '../../nodes/room-auto-create';
import { ROOM_LOCATOR, type RoomLocator } from '../../nodes/room-locator';
import { NodePlacementService, ReservedNode } from '../../nodes/node-placement.service';
import { MetricsService } from '../../observability/metrics.service';
import { SESSION_STORE, SessionStore } from '../store/session-store';
import { activeParticipants, type ParticipantRecord, SessionRecord } from '../session.model';
import { BUSY_ELSEWHERE, SessionLocks } from '../session-locks';
import { TokenService } from '../token.service';

/** A session whose new node dies during its rebuild is moved again, at most this many times in a row. */
export const MAX_REBUILD_ROUNDS = 3;

/**
 * Moves of one session in flight at once (a report's, a join's, a herd's second pass; a herd's first
 * pass goes in batches, HERD_BATCH_SIZE). A rebuild is a few store round trips and a push (its
 * CreateRoom runs after, behind CREATE_ROOM_CONCURRENCY), so it waits on Redis more than it works: a
 * wider queue moves more sooner. bench:scale and bench:rebuild-herd give the figures.
 */
export const REBUILD_CONCURRENCY = 32;

/**
 * A dead node's herd is moved in batches of this many sessions, biggest first: each batch takes its
 * leases, reads its records and writes them in one round trip apiece (a session alone takes one per
 * step), then mints and pushes. bench:scale (250 sessions x 4 on one node, 2 instances): see issue 19.
 */
export const HERD_BATCH_SIZE = 64;
/** Batches in flight at once: one waits on Redis while the other mints and pushes. */
export const HERD_BATCHES_IN_FLIGHT = 2;

/**
 * CreateRoom calls in flight at once behind the pushes. More in parallel barely shortens a herd's (a
 * node answers them one at a time) but piles load on the node the herd lands on.
 */
export const CREATE_ROOM_CONCURRENCY = 8;
/** CreateRoom calls per placement when the node fails them but is not down (see createRoomWhileNeeded). */
export const CREATE_ROOM_ATTEMPTS = 4;
/** Between those: past a balancer's and a probe's look at a member that just died (250 ms each here). */
export const CREATE_ROOM_RETRY_MS = 300;

/** How long a node that refused a session's room is left out of that session's rebuilds. */
export const REFUSAL_MEMORY_MS = 30_000;

/** Injection token for the queue's width: REBUILD_CONCURRENCY unless a benchmark sizes it. */
export const REBUILD_QUEUE_WIDTH = Symbol('RebuildQueueWidth');

/**
 * Test hook (env SESSION_REBUILDER_TEST_REBUILD_PAUSE_MS): each rebuild waits this long between
 * choosing its node and the write, so the scale-out specs can run two instances' rebuilds side by side and
 * kill an instance in the middle of one. 0 (the default) in every real run.
 */
export const REBUILD_TEST_PAUSE_MS = Symbol('RebuildTestPauseMs');

export const NO_NODE_MESSAGE = 'no media node is up; the session will be rebuilt as soon as one comes back';

/**
 * The move of one session: place, raise the generation, mint a fresh token per participant and push
 * it, then create the room. One move per session at a time; concurrent triggers share its result.
 * What to move and when is RebuildScheduler's.
 *
 * The push does not wait for CreateRoom: the tokens carry the room's settings (LiveKit's roomConfig
 * claim), so whichever participant reaches the new node first creates the room as CreateRoom would
 * have. Under a herd on LiveKit (bench:scale), a rebuild that waited for CreateRoom on the node taking
 * the joins took a median of 159 ms and a p90 of 418 ms, and the pushes queued behind them were most
 * of the users' freeze (kill -> push p95 3.8 s of 3.9 s). It still runs, behind its own bounded queue,
 * for the room's sid (which tells the new room's webhooks from the old one's) and for nodes that do
 * not create rooms on join. A node that answers it with an error is left: the session moves again,
 * without that node. One that cannot be reached is reported to the health policy, which moves
 * everything if the node is down.
 */
/** A session a dead node's herd listed on it: at which generation, and how many it would push. */
export interface HerdEntry {
  sessionId: string;
  generation: number;
  size: number;
}

type MoveOutcome = SessionRecord | undefined | typeof BUSY_ELSEWHERE;

/** A rebuild read and decided: either nothing to write (`result`), or the record to write and what follows it. */
type Prepared =
  | { kind: 'done'; result: SessionRecord | undefined }
  | {
      kind: 'write';
      session: SessionRecord;
      node: ReservedNode;
      participants: ParticipantRecord[];
      previousUrl: string;
      placedFirst: { sid: string } | undefined;
      started: number;
    };

/** Why a session leaves a node that is up: it refused the room, or its participants lost their media path to it. */
interface Leaving {
  /** record: the URL the session's record names (a CreateRoom refusal); room: the node holding the room. */
  of: 'record' | 'room';
  why: string;
}

@Injectable()
export class SessionMoverService {
  private readonly logger = new Logger(SessionMoverService.name);
  private readonly flights = new SingleFlight<MoveOutcome>();
  /** A dead node's herd, a batch at a time (HERD_BATCH_SIZE), biggest sessions first. */
  private readonly herdBatches = new BoundedWorkQueue(HERD_BATCHES_IN_FLIGHT);
  /** Herd batches in flight, and what waits for none to be (CreateRoom on nodes whose joins create rooms). */
  private herding = 0;
  private herdWaiters: Array<() => void> = [];
  /** Biggest sessions first: they are the most people frozen, and placing them early spreads the load evenly. */
  private readonly queue: BoundedWorkQueue;
  /** CreateRoom for rebuilt sessions, after their push. */
  private readonly confirmations: BoundedWorkQueue;
  private confirming = 0;
  /**
   * Nodes that answered a session's CreateRoom with an error, until when they are not tried again for
   * it: a rebuild leaving a refusing node skips every node that refused lately (not only the last), so
   * nodes that all refuse (a wrong API secret, say) end in waiting-for-node, not in moves back and forth.
   */
  private readonly refusals = new Map<string, Map<string, number>>();

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly health: NodeHealthService,
    @Inject(ROOM_LOCATOR) private readonly locator: RoomLocator,
    private readonly placement: NodePlacementService,
    private readonly tokens: TokenService,
    private readonly events: AppEvents,
    private readonly locks: SessionLocks,
    private readonly metrics: MetricsService,
    @Optional() @Inject(REBUILD_QUEUE_WIDTH) queueWidth: number = REBUILD_CONCURRENCY,
    @Optional() @Inject(REBUILD_TEST_PAUSE_MS) private readonly testPauseMs: number = 0,
    @Optional() @Inject(ROOM_AUTO_CREATE) private readonly autoCreate?: RoomAutoCreate,
  ) {
    this.queue = new BoundedWorkQueue(queueWidth);
    this.confirmations = new BoundedWorkQueue(CREATE_ROOM_CONCURRENCY);
  }

  /**
   * Moves the session off `fromUrl` (undefined: out of waiting-for-node). A trigger that arrives after
   * the session already moved is a no-op answering the current record.
   */
  move(
    sessionId: string,
    fromUrl: string | undefined,
    reason: RejoinReason,
    priority?: number,
  ): Promise<SessionRecord | undefined>;
  /**
   * With `skipIfBusyElsewhere`: BUSY_ELSEWHERE, doing nothing, while another instance holds the session.
   * With `listedGeneration`: a dead node's herd listed the session's room on `fromUrl` at that generation;
   * while it is still at it, the move is not asked where the room is now (see rebuildOnce).
   */
  move(
    sessionId: string,
    fromUrl: string | undefined,
    reason: RejoinReason,
    priority: number | undefined,
    options: { skipIfBusyElsewhere: true; listedGeneration?: number },
  ): Promise<SessionRecord | undefined | typeof BUSY_ELSEWHERE>;
  move(
    sessionId: string,
    fromUrl: string,
    reason: RejoinReason,
    priority: number | undefined,
    options: { listedGeneration: number },
  ): Promise<SessionRecord | undefined>;
  /**
   * With `leaving`: `fromUrl` is up but the session leaves it for another node: it answered CreateRoom
   * with an error (`of: 'record'`, the URL the record names), or the session's participants lost their
   * media path to it (`of: 'room'`, the node holding the room). `why` ends "<node> ..." in the logs.
   */
  move(
    sessionId: string,
    fromUrl: string,
    reason: RejoinReason,
    priority: number | undefined,
    options: { leaving: Leaving },
  ): Promise<SessionRecord | undefined>;
  async move(
    sessionId: string,
    fromUrl: string | undefined,
    reason: RejoinReason,
    priority = 0,
    options: { skipIfBusyElsewhere?: boolean; leaving?: Leaving; listedGeneration?: number } = {},
  ): Promise<SessionRecord | undefined | typeof BUSY_ELSEWHERE> {
    const once = (from: string | undefined, skip: boolean) =>
      this.flights.run(sessionId, () =>
        this.queue.run(priority, () => {
          const work = () =>
            from === fromUrl
              ? this.rebuildOnce(sessionId, from, reason, options.leaving, options.listedGeneration)
              : this.rebuildOnce(sessionId, from, reason, undefined);
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
    const session = first === BUSY_ELSEWHERE ? await settled(fromUrl) : first;
    return this.laterRounds(session, settled);
  }

  /**
   * A dead node's herd, first pass: what `move(id, fromUrl, reason, size, {skipIfBusyElsewhere,
   * listedGeneration})` answers for each, in the order given, but in batches (HERD_BATCH_SIZE): a batch
   * takes its sessions' leases, reads them and writes them in one store round trip each, then mints and
   * pushes, where one move at a time took those round trips per session. A session already moving here,
   * or held by another writer of this process, moves alone, as before.
   */
  async moveHerd(
    listed: readonly HerdEntry[],
    fromUrl: string,
    reason: RejoinReason,
  ): Promise<Array<PromiseSettledResult<MoveOutcome>>> {
    const alone = (entry: HerdEntry) =>
      this.move(entry.sessionId, fromUrl, reason, entry.size, {
        skipIfBusyElsewhere: true,
        listedGeneration: entry.generation,
      });
    const batched: HerdEntry[] = [];
    const firstRounds = new Map<string, Promise<MoveOutcome>>();
    const outcomes = new Map<string, { resolve: (outcome: MoveOutcome) => void; reject: (error: unknown) => void }>();
    const all = listed.map((entry) => {
      if (
        firstRounds.has(entry.sessionId) ||
        this.flights.isRunning(entry.sessionId) ||
        this.locks.busyHere(entry.sessionId)
      )
        return alone(entry);
      // Its first round is a flight like any move's: triggers arriving meanwhile (a client's report) share it.
      const first = this.flights.run(
        entry.sessionId,
        () => new Promise<MoveOutcome>((resolve, reject) => outcomes.set(entry.sessionId, { resolve, reject })),
      );
      firstRounds.set(entry.sessionId, first);
      batched.push(entry);
      return first.then((outcome): MoveOutcome | Promise<MoveOutcome> =>
        outcome === BUSY_ELSEWHERE
          ? outcome
          : this.laterRounds(outcome, (from) => this.moveAlone(entry.sessionId, from, reason, entry.size)),
      );
    });
    batched.sort((a, b) => b.size - a.size);
    const batches: Array<Promise<void>> = [];
    for (let i = 0; i < batched.length; i += HERD_BATCH_SIZE) {
      const batch = batched.slice(i, i + HERD_BATCH_SIZE);
      batches.push(
        this.herdBatches
          .run(batch[0]!.size, () => this.rebuildBatch(batch, fromUrl, reason, outcomes))
          .catch((error: unknown) => {
            for (const { sessionId } of batch) outcomes.get(sessionId)?.reject(error);
          }),
      );
    }
    if (batches.length > 0) {
      this.herding++;
      void Promise.all(batches).finally(() => {
        if (--this.herding === 0) for (const wake of this.herdWaiters.splice(0)) wake();
      });
    }
    return Promise.allSettled(all);
  }

  /** While the node a session just moved to is down, it moves again: MAX_REBUILD_ROUNDS moves in all. */
  private async laterRounds(
    session: SessionRecord | undefined,
    again: (fromUrl: string) => Promise<SessionRecord | undefined>,
  ): Promise<SessionRecord | undefined> {
    for (let round = 1; round < MAX_REBUILD_ROUNDS && session && !session.waitingForNode; round++) {
      if (this.health.status(session.nodeUrl) !== 'down') break;
      session = await again(session.nodeUrl);
    }
    return session;
  }

  /** One move of the session off `fromUrl`, waiting for whoever holds it. */
  private async moveAlone(
    sessionId: string,
    fromUrl: string,
    reason: RejoinReason,
    priority: number,
  ): Promise<SessionRecord | undefined> {
    for (;;) {
      const result = await this.flights.run(sessionId, () =>
        this.queue.run(priority, () =>
          this.locks.run(sessionId, () => this.rebuildOnce(sessionId, fromUrl, reason, undefined)),
        ),
      );
      if (result !== BUSY_ELSEWHERE) return result;
    }
  }

  /**
   * One batch of a herd: every step that goes to the store, once for the batch. Each session's outcome
   * goes to `outcomes` (BUSY_ELSEWHERE for one another instance holds); a failure is that session's alone
   * unless the store failed the whole step.
   */
  private async rebuildBatch(
    batch: readonly HerdEntry[],
    fromUrl: string,
    reason: RejoinReason,
    outcomes: ReadonlyMap<string, { resolve: (outcome: MoveOutcome) => void; reject: (error: unknown) => void }>,
  ): Promise<void> {
    const ids = batch.map((entry) => entry.sessionId);
    await this.locks.runEachUnlessBusyElsewhere(ids, async (free) => {
      for (const id of ids) if (!free.has(id)) outcomes.get(id)?.resolve(BUSY_ELSEWHERE);
      const mine = batch.filter((entry) => free.has(entry.sessionId));
      const records = await this.store.getMany(mine.map((entry) => entry.sessionId));
      const prepared = await Promise.all(
        mine.map((entry, i) =>
          this.prepare(records[i], entry.sessionId, fromUrl, reason, undefined, entry.generation).then(
            (plan) => ({ entry, plan }),
            (error: unknown) => {
              outcomes.get(entry.sessionId)?.reject(error);
              return undefined;
            },
          ),
        ),
      );
      const writes: Array<{ entry: HerdEntry; plan: Extract<Prepared, { kind: 'write' }> }> = [];
      for (const item of prepared) {
        if (!item) continue;
        if (item.plan.kind === 'done') outcomes.get(item.entry.sessionId)?.resolve(item.plan.result);
        else writes.push({ entry: item.entry, plan: item.plan });
      }
      let refused: Array<Error | undefined>;
      try {
        refused = await this.store.saveMany(writes.map(({ plan }) => plan.session));
      } catch (error) {
        refused = writes.map(() => error as Error);
      }
      // The batch's log lines and counts once its pushes are out: a line took as long as a push here
      // (pino's synchronous write; bench:scale's profile of the pushing instance).
      const afterPushes: Array<() => void> = [];
      await Promise.all(
        writes.map(async ({ entry, plan }, i) => {
          const outcome = outcomes.get(entry.sessionId);
          if (refused[i]) {
            plan.node.cancel();
            outcome?.reject(refused[i]);
            return;
          }
          await this.announce(plan, reason, afterPushes).then(outcome?.resolve, outcome?.reject);
        }),
      );
      for (const report of afterPushes) report();
    });
  }

  /** Resolves once no herd has a batch in flight or waiting. */
  private untilHerdsPushed(): Promise<void> {
    if (this.herding === 0) return Promise.resolve();
    return new Promise((resolve) => this.herdWaiters.push(resolve));
  }

  isMoving(sessionId: string): boolean {
    return this.flights.isRunning(sessionId);
  }

  /** Resolves once no rebuild (nor its CreateRoom) is in flight, or at `timeoutMs`; answers how many were still running. */
  async whenIdle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const busy = () => this.flights.size + this.confirming;
    while (busy() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return busy();
  }

  private async rebuildOnce(
    sessionId: string,
    fromUrl: string | undefined,
    reason: RejoinReason,
    leaving: Leaving | undefined,
    listedGeneration?: number,
  ): Promise<SessionRecord | undefined> {
    const plan = await this.prepare(
      await this.store.get(sessionId),
      sessionId,
      fromUrl,
      reason,
      leaving,
      listedGeneration,
    );
    if (plan.kind === 'done') return plan.result;
    try {
      await this.store.save(plan.session);
    } catch (error) {
      plan.node.cancel();
      throw error;
    }
    return this.announce(plan, reason);
  }

  /**
   * A rebuild up to its write, under the session's lock: from the record as read, whether the session
   * moves, where, and the record that says so (written by the caller, alone or with a batch).
   */
  private async prepare(
    session: SessionRecord | undefined,
    sessionId: string,
    fromUrl: string | undefined,
    reason: RejoinReason,
    leaving: Leaving | undefined,
    listedGeneration?: number,
  ): Promise<Prepared> {
    if (!session) return { kind: 'done', result: undefined };
    // The node holding the room: the record's own with independent nodes, LiveKit's word in its cluster
    // (a refused room is about the URL the room was asked of, which the record names). A dead node's herd
    // read the rooms on it before taking it out of LiveKit's registry; after that, a participant's SDK
    // reconnecting on its own re-places the room on a live member, and asking the map again found the
    // session elsewhere and moved nobody else (2 of 4 runs of rtc-node bots through a member's SIGKILL).
    const listed = listedGeneration !== undefined && session.generation === listedGeneration && !session.waitingForNode;
    const where = leaving?.of === 'record' ? session.nodeUrl : listed ? fromUrl : await this.locator.nodeOf(session);
    // In LiveKit's cluster a room no member holds (its move's CreateRoom failed as the last member died)
    // is on the URL its record names, which is down once every member is.
    const unplaced =
      where === undefined &&
      fromUrl !== undefined &&
      fromUrl === session.nodeUrl &&
      this.health.status(fromUrl) === 'down';
    const needed =
      session.waitingForNode ||
      unplaced ||
      (where !== undefined && where === fromUrl && (leaving !== undefined || this.health.status(where) !== 'up'));
    if (!needed) return { kind: 'done', result: session };
    // In LiveKit's cluster a dead node leaves its registry first, so the joins this move brings land elsewhere.
    if (fromUrl !== undefined && this.health.status(fromUrl) === 'down') await this.locator.evict(fromUrl);
    const participants = activeParticipants(session);
    if (participants.length === 0) {
      await this.store.delete(sessionId);
      this.logger.log({
        msg: `session ${sessionId} ended: its node ${session.nodeUrl} went down with nobody left to re-invite`,
        sessionId,
        nodeUrl: session.nodeUrl,
      });
      return { kind: 'done', result: undefined };
    }

    const started = performance.now();
    const node = await this.placement.reserveNode(participants.length, this.refusedNodes(sessionId));
    if (!node) {
      const alreadyWaiting = session.waitingForNode;
      session.waitingForNode = true;
      await this.store.save(session);
      if (!alreadyWaiting) {
        this.events.emit('session-waiting', {
          sessionId,
          generation: session.generation,
          reason: NO_NODE_MESSAGE,
          identities: participants.map((p) => p.identity),
        });
        // One attempt, one outcome: a refused room was already counted as failed.
        if (leaving?.of !== 'record') this.metrics.recordRebuild(reason, 'waiting', performance.now() - started);
        const why =
          leaving === undefined
            ? `${session.nodeUrl} is down and no node is up`
            : `${fromUrl} ${leaving.why} and no other node can take it`;
        this.logger.warn({
          msg: `session ${sessionId} waiting for a node: ${why} (${reason})`,
          sessionId,
          nodeUrl: session.nodeUrl,
          generation: session.generation,
          reason,
        });
      }
      return { kind: 'done', result: session };
    }

    if (this.testPauseMs > 0) {
      this.logger.warn(`session ${sessionId}: rebuild paused ${this.testPauseMs} ms before its write (test hook)`);
      await new Promise((resolve) => setTimeout(resolve, this.testPauseMs));
    }
    const previousUrl = session.nodeUrl;
    // The new room's sid is known once CreateRoom answers; until then, events from the rooms left
    // behind are told apart by theirs. Not in LiveKit's cluster: it re-creates the same room from its
    // Redis entry, whose sid may be the old one, and a dead node sends nothing anyway.
    if (session.roomSid && !this.locator.roomOutlivesNode)
      session.formerRoomSids = [session.roomSid, ...(session.formerRoomSids ?? [])].slice(0, MAX_REBUILD_ROUNDS);
    session.roomSid = '';
    session.nodeUrl = node.url;
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
    // In LiveKit's cluster the room is placed before anyone is pushed: its allocator takes no lock
    // (SelectRoomNode, pkg/service/roomallocator.go in v1.13.5), so rejoins racing a CreateRoom that
    // follows them could leave room_node_map naming a member holding an empty copy while everyone is on
    // another, whose death then moved nobody (seen in 2 of 5 runs of a second crash after a move).
    // Failing that, the push goes out and CreateRoom follows, as on independent nodes.
    const placedFirst = this.locator.roomOutlivesNode
      ? await this.createRoomWhileNeeded(sessionId, node.url, session.room, async () => true).catch(() => undefined)
      : undefined;
    if (placedFirst) session.roomSid = placedFirst.sid;
    return { kind: 'write', session, node, participants, previousUrl, placedFirst, started };
  }

  /**
   * After the write: the fresh tokens pushed, the move logged and counted, CreateRoom behind it. With
   * `afterPushes`, the line and the count wait there (a batch's, written once all its pushes are out).
   */
  private async announce(
    { session, node, participants, previousUrl, placedFirst, started }: Extract<Prepared, { kind: 'write' }>,
    reason: RejoinReason,
    afterPushes?: Array<() => void>,
  ): Promise<SessionRecord> {
    const { sessionId } = session;
    node.settle();
    const tokens = await Promise.all(participants.map((p) => this.tokens.mint(sessionId, p, session.room)));
    const invitations = participants.map((p, i) => ({ identity: p.identity, token: tokens[i]! }));
    this.events.emit('session-moved', {
      sessionId,
      url: node.url,
      generation: session.generation,
      reason,
      invitations,
    });
    const durationMs = performance.now() - started;
    const report = () => {
      this.metrics.recordRebuild(reason, 'rebuilt', durationMs);
      this.logger.log({
        msg:
          `session ${sessionId} rebuilt in ${durationMs.toFixed(1)} ms: ${previousUrl} -> ${node.url}, generation ${session.generation}, ` +
          `${participants.length} participant(s) re-invited (${reason})`,
        sessionId,
        fromUrl: previousUrl,
        nodeUrl: node.url,
        generation: session.generation,
        identities: participants.map((p) => p.identity),
        reason,
        durationMs: Math.round(durationMs * 10) / 10,
      });
    };
    if (afterPushes) afterPushes.push(report);
    else report();
    if (!placedFirst) this.confirmRoom(session, node, reason, participants.length);
    return session;
  }

  /**
   * A new session answered before its room exists (its node's joins create rooms): CreateRoom follows,
   * as after a move. A node that refuses the room loses the session, whose participants are moved.
   */
  createRoomAfterAnswer(session: SessionRecord, node: ReservedNode): void {
    this.confirmRoom(session, node, 'room-refused', activeParticipants(session).length);
  }

  /**
   * After the push: CreateRoom on the new node, in the background. Its sid is written to the record if
   * the session is still there; an error the node answered moves the session again, without that node.
   */
  private confirmRoom(session: SessionRecord, node: ReservedNode, reason: RejoinReason, size: number): void {
    const { sessionId, generation } = session;
    this.confirming++;
    // Started inside the rebuild's lock, run after it: detached, so it takes the lock anew to write.
    this.locks
      .detached(() =>
        this.confirmations.run(size, async () => {
          // A herd's pushes first: where joins create rooms, the room is there with its first participant
          // (the token's roomConfig), and this call only brings its sid; it would take the CPU the pushes
          // still need (here and on the node the herd joins).
          if (this.herding > 0 && (await this.autoCreate?.joinsCreateRooms(node.url))) await this.untilHerdsPushed();
          const started = performance.now();
          let sid: string;
          try {
            ({ sid } = await this.createRoomWhileNeeded(sessionId, node.url, session.room, async () => {
              const current = await this.store.placement(sessionId);
              return current?.generation === generation && current.nodeUrl === node.url;
            }));
          } catch (error) {
            // Unreachable: the node is suspect now and probed; if it is down, its herd (this session too) moves.
            if (error instanceof NodeCallError) return;
            const refusal = error instanceof Error ? error.message : String(error);
            this.metrics.recordRebuild(reason, 'failed', performance.now() - started);
            this.rememberRefusal(sessionId, node.url);
            await this.move(sessionId, node.url, reason, size, {
              leaving: { of: 'record', why: `refused the room (${refusal})` },
            });
            return;
          }
          this.refusals.delete(sessionId);
          // One store step, no lock (a lease, a read and a rewrite of the whole record were four more
          // round trips per new session or moved one); under the lock only while another writer holds it.
          const at = { generation, nodeUrl: node.url };
          if (
            this.locks.blocksLockFreeWrites(sessionId) ||
            (await this.store.setRoomSid(sessionId, at, sid)) === 'busy'
          )
            await this.locks.run(sessionId, () => this.store.setRoomSid(sessionId, at, sid));
        }),
      )
      .catch((error: unknown) => this.metrics.backgroundFailure('confirm-room', error, this.logger))
      .finally(() => this.confirming--);
  }

  /**
   * CreateRoom, asked again after a failed call while the node is not down and the session is still
   * there at that generation. A call can fail on a node that lives: in LiveKit's cluster the one URL's
   * balancer passed it to the member that just died, before the balancer or LiveKit's registry knew
   * (seen: a reset 150 ms after the move), and no verdict will ever move the session then (the URL is up).
   */
  private async createRoomWhileNeeded(
    sessionId: string,
    url: string,
    room: SessionRecord['room'],
    stillNeeded: () => Promise<boolean>,
  ): Promise<{ sid: string }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.placement.createRoom(url, sessionId, room);
      } catch (error) {
        if (!(error instanceof NodeCallError) || attempt >= CREATE_ROOM_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, CREATE_ROOM_RETRY_MS));
        if (this.health.status(url) === 'down' || !(await stillNeeded())) throw error;
      }
    }
  }

  /**
   * The session's participants lost their media path to `nodeUrl`, which still answers its probes: the
   * session leaves it, and stays off it for REFUSAL_MEMORY_MS (as off a node that refused its room).
   */
  leaveFailingNode(
    sessionId: string,
    nodeUrl: string,
    why: string,
    priority?: number,
  ): Promise<SessionRecord | undefined> {
    this.rememberRefusal(sessionId, nodeUrl);
    return this.move(sessionId, nodeUrl, 'media-path', priority, { leaving: { of: 'room', why } });
  }

  private rememberRefusal(sessionId: string, url: string): void {
    // Refusals are rare: what expired, for any session (one since deleted, say), goes now.
    for (const id of [...this.refusals.keys()]) this.refusedNodes(id);
    const refused = this.refusals.get(sessionId) ?? new Map<string, number>();
    this.refusals.set(sessionId, refused.set(url, this.clock.now() + REFUSAL_MEMORY_MS));
  }

  /** The nodes that refused this session's room lately (forgotten after REFUSAL_MEMORY_MS). */
  private refusedNodes(sessionId: string): Set<string> {
    const refused = this.refusals.get(sessionId);
    if (!refused) return new Set();
    const now = this.clock.now();
    for (const [url, until] of refused) if (until <= now) refused.delete(url);
    if (refused.size === 0) this.refusals.delete(sessionId);
    return new Set(refused.keys());
  }
}
