import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LIVEKIT_ROOM_API, LiveKitRoomApi, NodeCallError, RoomOptions } from './livekit-room.api';
import { NodeHealthService } from './node-health.service';
import type { NodeSummary } from '../contracts';
import { LiveKitRegistry } from './livekit-cluster/livekit-registry.service';
import type { PeerNodeView } from './node-health-board';
import { NODE_LOAD_SOURCE, NodeLoadCount, NodeLoadSource } from './node-load.source';
import { NodeLoad, pickLeastLoaded, UNLIMITED } from './placement';

export interface PlacedRoom {
  url: string;
  sid: string;
  /** Call once the session's record names `url` (saved): the placement's own count of it can go. */
  settle(): void;
}

/** Another backend instance's view of a node (GET /api/nodes). */
export type PeerView = Pick<PeerNodeView, 'instance' | 'status' | 'since' | 'reason'>;

export interface ReservedNode {
  url: string;
  settle(): void;
  cancel(): void;
}

/**
 * A placement chosen whose record is not known to be in the load source yet. `settledAt` orders it
 * against load reads: a read that started before it settled may not include it.
 */
interface Reservation {
  url: string;
  participants: number;
  settledAt?: number;
}

@Injectable()
export class NodePlacementService {
  private readonly logger = new Logger(NodePlacementService.name);
  /** Placements chosen and not yet visible to every load read in progress. */
  private readonly reservations = new Set<Reservation>();
  /** Load reads in progress, each with the settle sequence number it started at. */
  private readonly openReads = new Set<{ startedAt: number }>();
  private settleSeq = 0;
  /** The load read in flight, which picks starting meanwhile share. */
  private loadRead: { startedAt: number; loads: Promise<Map<string, NodeLoadCount>> } | undefined;
  /** Participants a node may carry (--node-capacity); a fuller node is no candidate. */
  private readonly capacity: number;
  /** Sessions a node may hold (--max-sessions-per-node). */
  private readonly sessionCapacity: number;

  constructor(
    @Inject(NODE_LOAD_SOURCE) private readonly loadSource: NodeLoadSource,
    @Inject(LIVEKIT_ROOM_API) private readonly rooms: LiveKitRoomApi,
    private readonly health: NodeHealthService,
    private readonly registry: LiveKitRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // In LiveKit's own cluster the one URL is every node: LiveKit's allocator weighs them, not these limits.
    this.capacity = config.nodeCapacity > 0 && !config.clusterMode ? config.nodeCapacity : UNLIMITED;
    this.sessionCapacity = config.maxSessionsPerNode > 0 && !config.clusterMode ? config.maxSessionsPerNode : UNLIMITED;
  }

  /**
   * GET /api/nodes: each node's state, since when, why, its load, and what the other instances see of
   * it; in LiveKit's cluster, its id and address, and the sessions whose rooms LiveKit placed there.
   */
  async describe(): Promise<NodeSummary[]> {
    const [loads, views] = await Promise.all([this.loadSource.loadByNode(), this.health.peerViews()]);
    return Promise.all(
      this.health.snapshots().map(async (node) => ({
        ...node,
        sinceIso: new Date(node.since).toISOString(),
        ...(this.health.clientFailure(node.url) && { failingForClients: this.health.clientFailure(node.url) }),
        ...(this.registry.active ? await this.clusterLoad(node.url) : this.independentLoad(loads, node.url)),
        peers: views
          .filter((view) => view.url === node.url)
          .map(({ instance, status, since, reason }) => ({ instance, status, since, reason })),
      })),
    );
  }

  private independentLoad(loads: Map<string, NodeLoadCount>, url: string): NodeLoad {
    return { url, sessions: loads.get(url)?.sessions ?? 0, participants: loads.get(url)?.participants ?? 0 };
  }

  private async clusterLoad(url: string): Promise<NodeLoad & Pick<NodeSummary, 'livekit'>> {
    const { id, address, registered } = this.registry.describe(url);
    const rooms = await this.registry.roomsOn(url).catch(() => []);
    const sessions = (await Promise.all(rooms.map((room) => this.loadSource.placement(room)))).filter(
      (session) => session !== undefined,
    );
    return {
      url,
      sessions: sessions.length,
      participants: sessions.reduce((sum, session) => sum + session.activeParticipants, 0),
      livekit: { ...(id !== undefined && { id }), address: address ?? new URL(url).hostname, registered },
    };
  }

  /**
   * Creates the room on the least-loaded up node for `weight` participants, falling back to the next
   * one when a node fails the call (that node turns suspect; only probes take a node down), and skipping
   * nodes that would go over --node-capacity participants. Each choice
   * counts at once, before its CreateRoom returns, so a herd of rebuilds spreads instead of landing on
   * one node. Answers undefined when no node is up; throws when nodes are up but all refused the call.
   */
  async createRoomOnBestNode(roomName: string, settings: RoomOptions, weight: number): Promise<PlacedRoom | undefined> {
    const tried = new Set<string>();
    let lastError: string | undefined;
    for (;;) {
      const node = await this.reserveNode(weight, tried);
      if (!node) break;
      tried.add(node.url);
      try {
        const { sid } = await this.createRoom(node.url, roomName, settings);
        return { url: node.url, sid, settle: () => node.settle() };
      } catch (error) {
        node.cancel();
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    if (lastError) throw new DomainError('node-unreachable', `no media node accepted the room: ${lastError}`);
    return undefined;
  }

  /**
   * The least-loaded up node for `weight` participants, not one of `exclude`, counted from now on like a
   * placement whose CreateRoom is in flight: `settle` once the session's record names it, `cancel` if
   * it will not. For a rebuild, which hands out tokens that create the room themselves (roomConfig)
   * and calls CreateRoom after its push. Undefined when no node can take them.
   */
  async reserveNode(weight: number, exclude: ReadonlySet<string> = new Set()): Promise<ReservedNode | undefined> {
    const reservation = await this.reserve(weight, exclude);
    if (!reservation) return undefined;
    return {
      url: reservation.url,
      settle: () => this.settle(reservation),
      cancel: () => this.reservations.delete(reservation),
    };
  }

  /** CreateRoom on one node; a failed call makes the node suspect (probed at once) and is rethrown. */
  async createRoom(url: string, roomName: string, settings: RoomOptions): Promise<{ sid: string }> {
    try {
      return await this.rooms.createRoom(url, roomName, settings);
    } catch (error) {
      if (error instanceof NodeCallError) this.health.reportFailure(url, error.kind, error.message);
      this.logger.warn(
        `CreateRoom ${roomName} on ${url} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw error;
    }
  }

  /**
   * Committed load plus placements in flight; the pick and its reservation happen with no await between.
   * Picks made while a load read is in flight share it (a herd's dozens of rebuilds would otherwise
   * each read every node's load, a store round trip apiece): each counts the reservations not settled
   * when that read started, as with a read of its own.
   */
  private async reserve(weight: number, exclude: ReadonlySet<string>): Promise<Reservation | undefined> {
    const shared = this.loadRead ?? this.startLoadRead();
    const read = { startedAt: shared.startedAt };
    this.openReads.add(read);
    try {
      const committed = await shared.loads;
      const loads = this.health.placeableUrls().map((url) => {
        const load = {
          url,
          sessions: committed.get(url)?.sessions ?? 0,
          participants: committed.get(url)?.participants ?? 0,
        };
        for (const r of this.reservations) {
          // Settled before this read started: already in `committed`.
          if (r.url !== url || (r.settledAt !== undefined && r.settledAt <= read.startedAt)) continue;
          load.sessions += 1;
          load.participants += r.participants;
        }
        return load;
      });
      const url = pickLeastLoaded(loads, exclude, weight, this.capacity, this.sessionCapacity);
      if (!url) return undefined;
      const reservation: Reservation = { url, participants: weight };
      this.reservations.add(reservation);
      return reservation;
    } finally {
      this.openReads.delete(read);
      this.forgetSettled();
    }
  }

  private startLoadRead(): { startedAt: number; loads: Promise<Map<string, NodeLoadCount>> } {
    const read = { startedAt: this.settleSeq, loads: this.loadSource.loadByNode() };
    this.loadRead = read;
    const done = () => {
      if (this.loadRead === read) this.loadRead = undefined;
    };
    read.loads.then(done, done);
    return read;
  }

  private settle(reservation: Reservation): void {
    if (reservation.settledAt !== undefined) return;
    reservation.settledAt = ++this.settleSeq;
    this.forgetSettled();
  }

  /** A settled reservation is dropped once every read still in progress started after it settled. */
  private forgetSettled(): void {
    let oldestRead = Number.POSITIVE_INFINITY;
    for (const read of this.openReads) oldestRead = Math.min(oldestRead, read.startedAt);
    for (const r of this.reservations)
      if (r.settledAt !== undefined && r.settledAt <= oldestRead) this.reservations.delete(r);
  }
}
