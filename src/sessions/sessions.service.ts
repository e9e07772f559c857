import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { NodeHealthService } from '../nodes/node-health.service';
import { NodePlacementService, PlacedRoom, type ReservedNode } from '../nodes/node-placement.service';
import { ROOM_AUTO_CREATE, type RoomAutoCreate } from '../nodes/room-auto-create';
import { ROOM_LOCATOR, type RoomLocator } from '../nodes/room-locator';
import { LIVEKIT_ROOM_API, LiveKitRoomApi } from '../nodes/livekit-room.api';
import type { JoinResponse, RejoinPayload, RejoinResponse } from '../contracts';
import { SESSION_STORE, type ParticipantView, SessionStore } from './store/session-store';
import type { CreateParticipantDto } from './dto/create-participant.dto';
import type { RejoinDto } from './dto/rejoin.dto';
import { newIdentity } from './identity';
import { hashRejoinKey, newRejoinKey, rejoinKeyMatches } from './rejoin-key';
import {
  activeParticipants,
  findParticipant,
  ParticipantRecord,
  type RoomSettings,
  SessionHead,
  SessionRecord,
} from './session.model';
import { SessionLocks } from './session-locks';
import { busyRetries, DEFAULT_GRANTS, DEFAULT_ROOM_SETTINGS, TOKEN_TTL_SECONDS } from './session-policy';
import { AppEvents } from '../events/app-events';
import { RebuildScheduler } from './rebuild/rebuild-scheduler.service';
import { NO_NODE_MESSAGE, SessionMoverService } from './rebuild/session-mover.service';
import { TokenService } from './token.service';
import type { JoinGrant } from './join-auth.service';

const ANONYMOUS: JoinGrant = { operator: false };

/** What GET /api/sessions shows: the registry without key hashes. */
export interface SessionView {
  sessionId: string;
  nodeUrl: string;
  generation: number;
  waitingForNode: boolean;
  room: Required<SessionRecord['room']>;
  participants: Array<Pick<ParticipantRecord, 'identity' | 'name' | 'state'>>;
}

@Injectable()
export class SessionsService {
  private readonly logger = new Logger(SessionsService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(LIVEKIT_ROOM_API) private readonly rooms: LiveKitRoomApi,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly health: NodeHealthService,
    private readonly placement: NodePlacementService,
    private readonly rebuilds: RebuildScheduler,
    private readonly mover: SessionMoverService,
    @Inject(ROOM_AUTO_CREATE) private readonly autoCreate: RoomAutoCreate,
    @Inject(ROOM_LOCATOR) private readonly locator: RoomLocator,
    private readonly tokens: TokenService,
    private readonly locks: SessionLocks,
    private readonly events: AppEvents,
  ) {}

  /**
   * `rejoinable: false` (the get-token call): no rejoin key, forgotten once its token expires unless it
   * joined. `grant` (JoinAuthService): the name an auth token fixes wins over the body's; room settings
   * count from an operator or an auth token only, anyone else's first join gets the defaults.
   */
  async join(
    sessionId: string,
    body: CreateParticipantDto,
    { rejoinable = true, grant = ANONYMOUS }: { rejoinable?: boolean; grant?: JoinGrant } = {},
  ): Promise<JoinResponse> {
    const dto: CreateParticipantDto = {
      ...body,
      name: grant.name ?? body.name,
      room: grant.operator ? body.room : grant.room,
    };
    // One atomic store step adds the newcomer to an existing session without its lock and without
    // reading its participants: a join into a session of 1,000 costs what one into 2 does, and joins
    // into one session run side by side. The locked path is for creating a session, or when another
    // writer (a rebuild, presence, the sweep) holds it; a session on a node this instance sees down is
    // rebuilt first, then joined there.
    const rejoinKey = rejoinable ? newRejoinKey() : '';
    let joined: Joined | undefined;
    if (!this.locks.blocksLockFreeWrites(sessionId)) {
      const added = await this.addLockFree(sessionId, dto, rejoinKey);
      if ('nodeDown' in added)
        await this.rebuilds.ensureLive(sessionId, { where: { nodeUrl: added.nodeDown, waitingForNode: false } });
      else joined = added.joined;
    } else {
      await this.rebuilds.ensureLive(sessionId);
    }
    joined ??= await this.locks.run(sessionId, async () => {
      const existing = await this.store.placement(sessionId);
      if (existing) return this.addToExisting(sessionId, dto, rejoinKey);
      const created = await this.createSession(sessionId, dto);
      try {
        const { session, participant } = await this.addParticipant(created.session, dto, rejoinKey);
        const head = { nodeUrl: session.nodeUrl, generation: session.generation };
        if (!created.roomLater) return { session: head, participant };
        return {
          session: { ...head, room: session.room },
          participant,
          roomLater: { session, node: created.roomLater },
        };
      } finally {
        created.placed.settle();
      }
    });
    if (joined.roomLater) this.mover.createRoomAfterAnswer(joined.roomLater.session, joined.roomLater.node);
    const { session, participant } = joined;
    // While the room may not exist yet, the token carries its settings: whoever reaches the node first creates it.
    const token = await this.tokens.mint(sessionId, participant, session.room);
    // A line per join is thousands a second under load (8 % of a join's CPU in a profile): debug level.
    // Operators see sessions created, node transitions and every rebuild at the default level.
    this.logger.debug({
      msg: `session ${sessionId}: ${participant.identity} invited on ${session.nodeUrl} (generation ${session.generation})`,
      sessionId,
      identity: participant.identity,
      nodeUrl: session.nodeUrl,
      generation: session.generation,
    });
    return {
      sessionId,
      identity: participant.identity,
      name: participant.name,
      url: session.nodeUrl,
      token,
      rejoinKey,
      generation: session.generation,
    };
  }

  /**
   * The join's fast path. `joined` undefined sends it down the locked path (the session is busy, gone
   * or full); `nodeDown` names the dead node the session is still on.
   */
  private async addLockFree(
    sessionId: string,
    dto: CreateParticipantDto,
    rejoinKey: string,
  ): Promise<{ joined?: Joined } | { nodeDown: string }> {
    const retryWhileBusy = busyRetries();
    for (;;) {
      const participant = this.newParticipant(dto, rejoinKey, () => false);
      const added = await this.store.addParticipant(
        sessionId,
        participant,
        this.health.downSessionUrls(),
        this.config.maxUnconfirmedInvites,
      );
      if (added.outcome === 'added') return { joined: { session: added, participant } };
      if (added.outcome === 'node-down') return { nodeDown: added.nodeUrl };
      // Another writer (a rebuild, the sweep, presence) holds the session for a moment: asked again
      // shortly rather than queued behind the lock, where every join arriving meanwhile would queue
      // too, one lease at a time (a busy big session's joins fell to a tenth of their rate).
      if (added.outcome === 'busy' && (await retryWhileBusy())) continue;
      // A taken identity (a 1 in 16 million draw per participant) just draws again; anything else is
      // decided under the lock, where its error is raised.
      if (added.outcome !== 'taken') return {};
    }
  }

  /** Under the session's lock, into a session that exists: one write of one participant. */
  private async addToExisting(sessionId: string, dto: CreateParticipantDto, rejoinKey: string): Promise<Joined> {
    for (;;) {
      const participant = this.newParticipant(dto, rejoinKey, () => false);
      const added = await this.store.addParticipant(sessionId, participant, [], this.config.maxUnconfirmedInvites);
      if (added.outcome === 'added') return { session: added, participant };
      const where = await this.store.placement(sessionId);
      switch (added.outcome) {
        case 'taken':
          continue;
        case 'waiting':
          throw new DomainError('no-node-available', NO_NODE_MESSAGE);
        case 'full':
          throw new DomainError('conflict', `session ${sessionId} is full (${where?.maxParticipants} participants)`);
        case 'too-many-unconfirmed':
          // Passing: they connect within seconds, or the sweep forgets them after INVITE_CONFIRM_MS.
          throw new DomainError(
            'too-many-requests',
            `session ${sessionId} has ${this.config.maxUnconfirmedInvites} participants who have not connected yet; try again in a few seconds`,
          );
        default:
          throw new DomainError('not-found', `session ${sessionId} ended while joining; join again`);
      }
    }
  }

  private newParticipant(
    dto: CreateParticipantDto,
    rejoinKey: string,
    taken: (identity: string) => boolean,
  ): ParticipantRecord {
    const now = this.clock.now();
    return {
      identity: newIdentity(dto.name, taken),
      name: dto.name,
      metadata: dto.metadata ?? '',
      grants: { ...DEFAULT_GRANTS },
      rejoinKeyHash: rejoinKey ? hashRejoinKey(rejoinKey) : '',
      state: 'invited',
      invitedAt: now,
      ...(!rejoinKey && { expiresAt: now + TOKEN_TTL_SECONDS * 1000 }),
    };
  }

  /** Under the session's lock: one more participant, saved. An empty `rejoinKey` makes a key-less one that expires with its token. */
  private async addParticipant(
    session: SessionRecord,
    dto: CreateParticipantDto,
    rejoinKey: string,
  ): Promise<{ session: SessionRecord; participant: ParticipantRecord }> {
    if (session.waitingForNode) throw new DomainError('no-node-available', NO_NODE_MESSAGE);
    const max = session.room.maxParticipants;
    if (max > 0 && activeParticipants(session).length >= max)
      throw new DomainError('conflict', `session ${session.sessionId} is full (${max} participants)`);
    const participant = this.newParticipant(dto, rejoinKey, (id) => findParticipant(session, id) !== undefined);
    session.participants[participant.identity] = participant;
    await this.store.save(session);
    return { session, participant };
  }

  /** The tutorial's call: a token for a fresh participant, nothing else. */
  async getToken(sessionId: string, grant: JoinGrant = ANONYMOUS): Promise<{ token: string; url: string }> {
    const joined = await this.join(sessionId, { name: 'participant' }, { rejoinable: false, grant });
    return { token: joined.token, url: joined.url };
  }

  /**
   * A participant asks to (re)connect. With `failedUrl` equal to the session's node, the node is probed
   * at once and the session rebuilt in this request if it is down. Answered from one read of the
   * participant and where its session stands; the lock only when a leaving participant comes back.
   */
  async rejoin(sessionId: string, identity: string, dto: RejoinDto): Promise<RejoinResponse> {
    let { session, participant } = await this.checkKey(sessionId, identity, dto.rejoinKey);
    // Its node lost (the client says so) or known down: moved in this request, and answered from there.
    const moved =
      (await this.rebuilds.ensureLive(sessionId, { reportedUrl: dto.failedUrl, where: session })) ??
      (dto.failedUrl === session.nodeUrl
        ? await this.rebuilds.weighLossReport(sessionId, dto.failedUrl, identity)
        : undefined);
    if (moved) {
      const p = findParticipant(moved, identity);
      if (!p || p.state === 'left')
        throw new DomainError('not-found', `participant ${identity} has left session ${sessionId}`);
      ({ session, participant } = { session: moved, participant: p });
    } else if (dto.failedUrl !== undefined) {
      // Nothing moved in this request, but a herd may have while it ran: the key check read the record
      // before, and in LiveKit's cluster the room was then found on a live node. Read again, so the answer
      // is never older than a move already committed (nor names the node the client says it lost).
      ({ session, participant } = await this.checkKey(sessionId, identity, dto.rejoinKey));
    }
    if (session.waitingForNode) throw new DomainError('no-node-available', NO_NODE_MESSAGE);
    if (participant.state === 'leaving') {
      ({ session, participant } = await this.locks.run(sessionId, async () => {
        const current = await this.store.get(sessionId);
        const p = current && findParticipant(current, identity);
        if (!current || !p || p.state === 'left')
          throw new DomainError('not-found', `participant ${identity} has left session ${sessionId}`);
        if (p.state === 'leaving') {
          // Asking to come back ends the grace period in their favour.
          p.state = 'invited';
          p.invitedAt = this.clock.now();
          p.leftAt = undefined;
          await this.store.save(current);
        }
        return { session: current, participant: p };
      }));
      if (session.waitingForNode) throw new DomainError('no-node-available', NO_NODE_MESSAGE);
    }
    // With the room's settings: the room may not exist yet on a node the session just moved to.
    return {
      url: session.nodeUrl,
      token: await this.tokens.mint(sessionId, participant, session.room),
      generation: session.generation,
    };
  }

  async leave(sessionId: string, identity: string, rejoinKey: string): Promise<void> {
    await this.checkKey(sessionId, identity, rejoinKey);
    const ended = await this.locks.run(sessionId, async () => {
      const session = await this.store.get(sessionId);
      const participant = session && findParticipant(session, identity);
      // Checked again under the lock: a rebuild or another leave may have changed the record since.
      if (!session || !participant || participant.state === 'left')
        throw new DomainError('not-found', `participant ${identity} has left session ${sessionId}`);
      participant.state = 'left';
      participant.leftAt = this.clock.now();
      if (activeParticipants(session).length === 0) {
        await this.store.delete(sessionId);
        return session;
      }
      await this.store.save(session);
      return undefined;
    });
    this.logger.log({
      msg: `session ${sessionId}: ${identity} left for good${ended ? '; session ended' : ''}`,
      sessionId,
      identity,
    });
    this.events.emit('participant-left', { sessionId, identity });
    if (ended && !ended.waitingForNode && this.health.status(ended.nodeUrl) === 'up') {
      await this.rooms
        .deleteRoom(ended.nodeUrl, sessionId)
        .catch((error: unknown) =>
          this.logger.warn(
            `DeleteRoom ${sessionId} on ${ended.nodeUrl} failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
    }
  }

  /** Socket handshake: the participant exists, has not left, and the key matches; where its session stands. */
  async authenticate(sessionId: string, identity: string, rejoinKey: unknown): Promise<SessionHead> {
    return (await this.checkKey(sessionId, identity, rejoinKey)).session;
  }

  /**
   * Every key check reads the participant and its session's record, not the others: a wrong key costs
   * the same on a session of 1,000 as on one of 2 (it read every participant's metadata, ~400 KB on 100).
   */
  private async checkKey(sessionId: string, identity: string, rejoinKey: unknown): Promise<ParticipantView> {
    const view = await this.store.participantView(sessionId, identity);
    if (!view || !rejoinKeyMatches(rejoinKey, view.participant.rejoinKeyHash)) {
      throw new DomainError('unauthorized', 'unknown participant or wrong rejoin key');
    }
    if (view.participant.state === 'left')
      throw new DomainError('not-found', `participant ${identity} has left session ${sessionId}`);
    return view;
  }

  /**
   * The move a (re)connecting socket missed: its client runs on `clientGeneration`, the session has
   * moved on since (a push went out while the socket was away, on a dead instance say). A fresh token
   * for the current node, or undefined when the client is current or the session waits for a node.
   */
  async catchUp(sessionId: string, identity: string, clientGeneration: number): Promise<RejoinPayload | undefined> {
    const view = await this.store.participantView(sessionId, identity);
    if (
      !view ||
      view.participant.state === 'left' ||
      view.session.waitingForNode ||
      view.session.generation <= clientGeneration
    )
      return undefined;
    const { session, participant } = view;
    return {
      url: session.nodeUrl,
      token: await this.tokens.mint(sessionId, participant, session.room),
      generation: session.generation,
      reason: 'catch-up',
    };
  }

  /**
   * A client lost its connection to `url`: a down verdict moves the session (and its node's herd); a node
   * that answers its probes is left once enough of the session's participants lost it (weighLossReport).
   */
  async reportMediaLost(sessionId: string, url: string, identity: string): Promise<void> {
    if (await this.rebuilds.ensureLive(sessionId, { reportedUrl: url, report: true })) return;
    await this.rebuilds.weighLossReport(sessionId, url, identity);
  }

  async list(): Promise<SessionView[]> {
    return (await this.store.list()).map((s) => ({
      sessionId: s.sessionId,
      nodeUrl: s.nodeUrl,
      generation: s.generation,
      waitingForNode: s.waitingForNode,
      room: { ...s.room, agents: s.room.agents ?? [] },
      participants: Object.values(s.participants).map(({ identity, name, state }) => ({ identity, name, state })),
    }));
  }

  /** What a session may hold: what was asked, within --max-participants (which is also the default). */
  private participantCap(asked: number | undefined): number {
    const cap = this.config.maxParticipants;
    const wanted = asked ?? DEFAULT_ROOM_SETTINGS.maxParticipants;
    if (cap === 0) return wanted;
    return wanted === 0 ? cap : Math.min(wanted, cap);
  }

  /**
   * A new session on the least-loaded node. Where that node's joins create rooms, it is answered as soon as
   * it is stored (`roomLater`: its CreateRoom follows, as after a move); elsewhere CreateRoom comes first.
   */
  private async createSession(
    sessionId: string,
    dto: CreateParticipantDto,
  ): Promise<{ session: SessionRecord; placed: Pick<PlacedRoom, 'url' | 'sid' | 'settle'>; roomLater?: ReservedNode }> {
    const room = {
      ...DEFAULT_ROOM_SETTINGS,
      ...(dto.room?.metadata !== undefined && { metadata: dto.room.metadata }),
      ...(dto.room?.emptyTimeoutSec !== undefined && { emptyTimeoutSec: dto.room.emptyTimeoutSec }),
      maxParticipants: this.participantCap(dto.room?.maxParticipants),
      ...(dto.room?.agents?.length && { agents: dto.room.agents }),
    };
    // Weight 1: the participant about to join; the placement counts it until the record is saved.
    // Not in LiveKit's cluster: its allocator takes no lock, and the first joins racing a CreateRoom that
    // follows them could leave room_node_map naming a member that holds an empty copy of the room.
    const reserved = this.locator.roomOutlivesNode ? undefined : await this.placement.reserveNode(1);
    let roomLater: ReservedNode | undefined;
    let placed: Pick<PlacedRoom, 'url' | 'sid' | 'settle'> | undefined;
    if (reserved && (await this.autoCreate.joinsCreateRooms(reserved.url))) {
      roomLater = reserved;
      placed = { url: reserved.url, sid: '', settle: () => reserved.settle() };
    } else {
      reserved?.cancel();
      placed = await this.placement.createRoomOnBestNode(sessionId, room, 1);
    }
    if (!placed) {
      const why =
        this.health.placeableUrls().length > 0
          ? 'every media node that is up is full (--node-capacity, --max-sessions-per-node)'
          : 'no media node is up';
      throw new DomainError('no-node-available', `${why}; try again in a moment`);
    }
    this.logger.log({
      msg: `session ${sessionId} created on ${placed.url}`,
      sessionId,
      nodeUrl: placed.url,
      generation: 1,
    });
    const session: SessionRecord = {
      sessionId,
      room,
      nodeUrl: placed.url,
      roomSid: placed.sid,
      generation: 1,
      waitingForNode: false,
      createdAt: this.clock.now(),
      participants: {},
    };
    return { session, placed, ...(roomLater && { roomLater }) };
  }
}

interface Joined {
  /** `room`: the room's settings, given while its room may not exist yet (no sid known), for the token. */
  session: Pick<SessionRecord, 'nodeUrl' | 'generation'> & { room?: RoomSettings };
  participant: ParticipantRecord;
  /** A session created without waiting for its room: CreateRoom on that node, once the join is answered. */
  roomLater?: { session: SessionRecord; node: ReservedNode };
}
