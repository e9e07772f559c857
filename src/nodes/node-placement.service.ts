import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LIVEKIT_ROOM_API, LiveKitRoomApi, NodeCallError, RoomOptions } from './livekit-room.api';
import { NodeHealthService } from './node-health.service';
import type { NodeHealthSnapshot } from './node-health.state';
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
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.capacity = config.nodeCapacity > 0 ? config.nodeCapacity : UNLIMITED;
    this.sessionCapacity = config.maxSessionsPerNode > 0 ? config.maxSessionsPerNode : UNLIMITED;
  }

  /** GET /api/nodes: each node's state, since when, why, its load, and what the other instances see of it. */
  async describe(): Promise<Array<NodeHealthSnapshot & NodeLoad & { sinceIso: string; peers: PeerView[] }>> {
    const [loads, views] = await Promise.all([this.loadSource.loadByNode(), this.health.peerViews()]);
    return this.health.snapshots().map((node) => ({
      ...node,
      sinceIso: new Date(node.since).toISOString(),
      url: node.url,
      sessions: loads.get(node.url)?.sessions ?? 0,
      participants: loads.get(node.url)?.participants ?? 0,
      peers: views
        .filter((view) => view.url === node.url)
        .map(({ instance, status, since, reason }) => ({ instance, status, since, reason })),
    }));
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
      const loads = this.health.upNodes().map((url) => {
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
