import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import { SESSION_STORE, SessionStore } from '../store/session-store';
import { activeParticipants, RoomSettings } from '../sessions/session.model';
import { LIVEKIT_ROOM_API, LiveKitRoomApi, NodeCallError } from './livekit-room.api';
import { NodeHealthService } from './node-health.service';
import type { NodeHealthSnapshot } from './node-health.state';
import { NodeLoad, pickLeastLoaded } from './placement';

export interface PlacedRoom {
  url: string;
  sid: string;
}

@Injectable()
export class NodePlacementService {
  private readonly logger = new Logger(NodePlacementService.name);

  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(LIVEKIT_ROOM_API) private readonly rooms: LiveKitRoomApi,
    private readonly health: NodeHealthService,
  ) {}

  /** GET /api/nodes: each node's state, since when, why, and its load. */
  async describe(): Promise<Array<NodeHealthSnapshot & NodeLoad & { sinceIso: string }>> {
    const loads = new Map((await this.loads()).map((load) => [load.url, load]));
    return this.health.snapshots().map((node) => ({ ...node, sinceIso: new Date(node.since).toISOString(), ...loads.get(node.url)! }));
  }

  async loads(): Promise<NodeLoad[]> {
    const sessions = await this.store.list();
    return this.health.urls().map((url) => {
      const here = sessions.filter((s) => s.nodeUrl === url && !s.waitingForNode);
      return { url, sessions: here.length, participants: here.reduce((sum, s) => sum + activeParticipants(s).length, 0) };
    });
  }

  /**
   * Creates the room on the least-loaded up node, falling back to the next one when a node fails the
   * call. Answers undefined when no node is up; throws when nodes are up but all refused the call.
   */
  async createRoomOnBestNode(roomName: string, settings: RoomSettings): Promise<PlacedRoom | undefined> {
    const tried = new Set<string>();
    let lastError: string | undefined;
    for (;;) {
      const up = new Set(this.health.upNodes());
      const url = pickLeastLoaded((await this.loads()).filter((load) => up.has(load.url)), tried);
      if (!url) break;
      tried.add(url);
      try {
        const { sid } = await this.rooms.createRoom(url, roomName, settings);
        return { url, sid };
      } catch (error) {
        if (error instanceof NodeCallError) this.health.reportFailure(url, error.kind, error.message);
        lastError = error instanceof Error ? error.message : String(error);
        this.logger.warn(`CreateRoom ${roomName} on ${url} failed: ${lastError}`);
      }
    }
    if (lastError) throw new DomainError('node-unreachable', `no media node accepted the room: ${lastError}`);
    return undefined;
  }
}
