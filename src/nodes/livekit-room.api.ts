import { Inject, Injectable } from '@nestjs/common';
import { RoomAgentDispatch } from '@livekit/protocol';
import { RoomServiceClient, TwirpError } from 'livekit-server-sdk';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { ProbeFailureKind } from '../events/node.events';

export const LIVEKIT_ROOM_API = Symbol('LiveKitRoomApi');

/** RoomService calls must not outlast a probe verdict by much; the SDK's default is 10 s. */
export const ROOM_SERVICE_TIMEOUT_S = 1.5;

/** A RoomService call that could not reach the node (as opposed to an error the node answered). */
export class NodeCallError extends Error {
  constructor(
    readonly nodeUrl: string,
    readonly kind: ProbeFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'NodeCallError';
  }
}

/** What CreateRoom is told; the session registry's room settings satisfy it. */
export interface RoomOptions {
  metadata: string;
  emptyTimeoutSec: number;
  departureTimeoutSec: number;
  maxParticipants: number;
  /**
   * Agent names LiveKit dispatches when this call creates the room on the node (a room made without
   * them dispatches none of them, whatever later tokens say).
   */
  agents?: readonly string[];
}

/** A room as its node reports it (ListRooms). */
export interface RoomOnNode {
  name: string;
  sid: string;
  participants: number;
}

export interface LiveKitRoomApi {
  /** Creates (or finds, LiveKit's CreateRoom is idempotent) the room on that node; answers the room sid. */
  createRoom(nodeUrl: string, roomName: string, settings: RoomOptions): Promise<{ sid: string }>;
  deleteRoom(nodeUrl: string, roomName: string): Promise<void>;
  /** Every room the node holds, with its participant count: the sweep's view when webhooks are missing. */
  listRooms(nodeUrl: string): Promise<RoomOnNode[]>;
  /**
   * The identities connected to one room (ListParticipants): which invites no webhook confirmed are
   * there. Optional for fakes; without it an occupied room gives the sweep no evidence either way.
   */
  listParticipants(nodeUrl: string, roomName: string): Promise<string[]>;
}

function transportKind(error: unknown): ProbeFailureKind | undefined {
  if (!(error instanceof Error)) return undefined;
  // A 5xx that is no Twirp error (LiveKit's always carry a code) came from what stands in front of
  // LiveKit, not from LiveKit: in its cluster, the balancer with no member to pass the call to (nginx's
  // 502 while it skips members that refused). Not the room refused: nothing to move away from.
  if (error instanceof TwirpError && error.status >= 500 && error.code === undefined) return 'error';
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'reset';
  return error instanceof TypeError ? 'error' : undefined;
}

/** livekit-server-sdk's RoomServiceClient (Twirp), one client per node. */
@Injectable()
export class LiveKitRoomServiceApi implements LiveKitRoomApi {
  private readonly clients = new Map<string, RoomServiceClient>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async createRoom(nodeUrl: string, roomName: string, settings: RoomOptions): Promise<{ sid: string }> {
    const room = await this.call(nodeUrl, (client) =>
      client.createRoom({
        name: roomName,
        metadata: settings.metadata,
        emptyTimeout: settings.emptyTimeoutSec,
        departureTimeout: settings.departureTimeoutSec,
        maxParticipants: settings.maxParticipants,
        ...(settings.agents?.length && {
          agents: settings.agents.map((agentName) => new RoomAgentDispatch({ agentName })),
        }),
      }),
    );
    return { sid: room.sid };
  }

  async deleteRoom(nodeUrl: string, roomName: string): Promise<void> {
    await this.call(nodeUrl, (client) => client.deleteRoom(roomName));
  }

  async listRooms(nodeUrl: string): Promise<RoomOnNode[]> {
    const rooms = await this.call(nodeUrl, (client) => client.listRooms());
    return rooms.map((room) => ({ name: room.name, sid: room.sid, participants: room.numParticipants }));
  }

  async listParticipants(nodeUrl: string, roomName: string): Promise<string[]> {
    const participants = await this.call(nodeUrl, (client) => client.listParticipants(roomName));
    return participants.map((participant) => participant.identity);
  }

  private async call<T>(nodeUrl: string, fn: (client: RoomServiceClient) => Promise<T>): Promise<T> {
    let client = this.clients.get(nodeUrl);
    if (!client) {
      const httpUrl = nodeUrl.replace(/^ws/, 'http');
      client = new RoomServiceClient(httpUrl, this.config.apiKey, this.config.apiSecret, {
        requestTimeout: ROOM_SERVICE_TIMEOUT_S,
        failover: false,
      });
      this.clients.set(nodeUrl, client);
    }
    try {
      return await fn(client);
    } catch (error) {
      const kind = transportKind(error);
      if (kind)
        throw new NodeCallError(
          nodeUrl,
          kind,
          `RoomService on ${nodeUrl}: ${kind} (${error instanceof Error ? error.message : String(error)})`,
        );
      throw error;
    }
  }
}
