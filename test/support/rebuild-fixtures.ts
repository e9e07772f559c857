// Fakes around the rebuild service (node health, RoomService, the socket push) shared by its unit spec
// and the specs that run it over the Redis store and lease.
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AppEvents } from '../../src/events/app-events';
import { SystemClock } from '../../src/common/clock';
import { parseConfig } from '../../src/config/parse-config';
import { LiveKitRoomApi, NodeCallError } from '../../src/nodes/livekit-room.api';
import type { NodeHealthService } from '../../src/nodes/node-health.service';
import type { NodeStatus } from '../../src/contracts';
import type { RoomLocator } from '../../src/nodes/room-locator';
import { LiveKitRegistry } from '../../src/nodes/livekit-cluster/livekit-registry.service';
import { NodePlacementService } from '../../src/nodes/node-placement.service';
import type { MetricsService } from '../../src/observability/metrics.service';
import type { RejoinPayload, WaitingForNodePayload } from '../../src/contracts';
import { MemorySessionStore } from '../../src/backplane/memory/memory-session-store';
import type { SessionStore } from '../../src/sessions/store/session-store';
import { hashRejoinKey } from '../../src/sessions/rejoin-key';
import type { SessionRecord } from '../../src/sessions/session.model';
import { LocalLease } from '../../src/backplane/memory/local-lease';
import { StoreRoomLocator } from '../../src/sessions/store-room-locator';
import { SessionLocks, type SessionLease } from '../../src/sessions/session-locks';
import { RebuildScheduler } from '../../src/sessions/rebuild/rebuild-scheduler.service';
import { SessionMoverService } from '../../src/sessions/rebuild/session-mover.service';
import { TokenService } from '../../src/sessions/token.service';

export class FakeHealth {
  statuses = new Map<string, NodeStatus>();
  failures: string[] = [];
  status(url: string) {
    return this.statuses.get(url);
  }
  /** The verdict on a client's report: the node's status as it stands (no probe to wait for here). */
  verdict(url: string) {
    return Promise.resolve(this.statuses.get(url));
  }
  urls() {
    return [...this.statuses.keys()];
  }
  upNodes() {
    return this.urls().filter((u) => this.statuses.get(u) === 'up');
  }
  placeableUrls() {
    return this.upNodes();
  }
  downNodes() {
    return this.urls().filter((u) => this.statuses.get(u) === 'down');
  }
  /** A fake of LiveKit's cluster lists its cluster URL among the statuses, down once every member is. */
  downSessionUrls() {
    return this.downNodes();
  }
  reportFailure(url: string) {
    this.failures.push(url);
    this.statuses.set(url, 'suspect');
  }
}

export class FakeRooms implements LiveKitRoomApi {
  created: string[] = [];
  /** Unreachable: the call fails as a transport error. */
  refuse = new Set<string>();
  /** Reachable, and answering CreateRoom with an error. */
  answerError = new Set<string>();
  delayMs = 20;
  /** While set, CreateRoom waits for it. */
  gate: Promise<void> | undefined;
  async createRoom(nodeUrl: string, roomName: string) {
    await new Promise((r) => setTimeout(r, this.delayMs));
    await this.gate;
    if (this.refuse.has(nodeUrl)) throw new NodeCallError(nodeUrl, 'refused', 'ECONNREFUSED');
    if (this.answerError.has(nodeUrl)) throw new Error('twirp error resource_exhausted: room limit reached');
    this.created.push(`${roomName}@${nodeUrl}`);
    return { sid: `RM_${this.created.length}` };
  }
  async deleteRoom() {}
  async listRooms() {
    return [];
  }
  async listParticipants() {
    return [];
  }
}

/** What the socket gateway would push, per participant, from the rebuild's events. */
export class RecordingPush {
  rejoins: Array<{ identity: string } & RejoinPayload> = [];
  waiting: Array<{ identity: string } & WaitingForNodePayload> = [];
  constructor(events: AppEvents) {
    events.on('session-moved', ({ url, generation, reason, invitations }) => {
      for (const { identity, token } of invitations) this.rejoins.push({ identity, url, token, generation, reason });
    });
    events.on('session-waiting', ({ generation, reason, identities }) => {
      for (const identity of identities) this.waiting.push({ identity, generation, reason });
    });
  }
}

export const A = 'ws://a:7880';
export const B = 'ws://b:7880';
export const C = 'ws://c:7880';

export function session(nodeUrl: string): SessionRecord {
  const participant = (identity: string) => ({
    identity,
    name: identity.toUpperCase(),
    metadata: `{"who":"${identity}"}`,
    grants: { canPublish: true, canSubscribe: true, canPublishData: true },
    rejoinKeyHash: hashRejoinKey(identity),
    state: 'joined' as const,
    invitedAt: 0,
  });
  return {
    sessionId: 'room-1',
    room: { metadata: 'm', emptyTimeoutSec: 300, departureTimeoutSec: 20, maxParticipants: 0 },
    nodeUrl,
    roomSid: 'RM_old',
    generation: 1,
    waitingForNode: false,
    createdAt: 0,
    participants: { ann: participant('ann'), bob: participant('bob'), gone: { ...participant('gone'), state: 'left' } },
  };
}

/**
 * A rebuild service over fakes of the node health and RoomService, with the session `room-1` on A. The
 * store is in memory unless a spec passes one (the Redis store, with `lease`, for the leases' specs).
 */
export async function setup(
  statuses: Record<string, NodeStatus>,
  {
    pauseMs = 0,
    store = new MemorySessionStore(),
    lease,
    locator = new StoreRoomLocator(store),
  }: { pauseMs?: number; store?: SessionStore; lease?: SessionLease; locator?: RoomLocator } = {},
) {
  const config = parseConfig(['--api-key', 'key', '--secret', 'secret-secret-secret-secret-secret'], {});
  const clock = new SystemClock();
  const health = new FakeHealth();
  for (const [url, status] of Object.entries(statuses)) health.statuses.set(url, status);
  const rooms = new FakeRooms();
  const events = new AppEvents(new EventEmitter2());
  const push = new RecordingPush(events);
  const nodeHealth = health as unknown as NodeHealthService;
  // Independent nodes: LiveKit's registry is inert (no --livekit-redis).
  const placement = new NodePlacementService(
    store,
    rooms,
    nodeHealth,
    new LiveKitRegistry(config, clock, nodeHealth),
    config,
  );
  const outcomes: string[] = [];
  const backgroundFailures: string[] = [];
  const metrics = {
    recordRebuild: (_reason: string, outcome: string) => outcomes.push(outcome),
    backgroundFailure: (task: string, error: unknown) =>
      backgroundFailures.push(`${task}: ${error instanceof Error ? error.message : String(error)}`),
  } as unknown as MetricsService;
  const locks = new SessionLocks(lease ?? new LocalLease());
  const mover = new SessionMoverService(
    store,
    clock,
    health as unknown as NodeHealthService,
    locator,
    placement,
    new TokenService(config),
    events,
    locks,
    metrics,
    undefined,
    pauseMs,
  );
  await store.save(session(A));
  const scheduler = new RebuildScheduler(store, clock, health as unknown as NodeHealthService, locator, mover, metrics);
  return {
    config,
    clock,
    store,
    health,
    rooms,
    events,
    push,
    locator,
    placement,
    locks,
    mover,
    scheduler,
    outcomes,
    backgroundFailures,
  };
}
