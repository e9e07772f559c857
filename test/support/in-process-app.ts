// The whole backend in the test's own process, over scripted media nodes: no child processes, so a spec
// decides each node's probe answer and RoomService behaviour and reads the registry directly.
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { AppModule, type AppOverrides } from '../../src/app.module';
import { configureApp } from '../../src/bootstrap';
import { AppLogger } from '../../src/common/app-logger';
import type { Clock } from '../../src/common/clock';
import type { LiveKitRoomApi, RoomOnNode } from '../../src/nodes/livekit-room.api';
import { NodeCallError } from '../../src/nodes/livekit-room.api';
import type { ProbeResult } from '../../src/nodes/node-health.state';
import type { NodeProber } from '../../src/nodes/node-prober';
import type { RoomAutoCreate } from '../../src/nodes/room-auto-create';
import { parseConfig } from '../../src/config/parse-config';
import type { JoinResponse } from '../../src/contracts';
import { postWebhook, signWebhook, webhookBody } from './livekit-webhook';
import { TEST_ADMIN_TOKEN } from './session-client';

export type ScriptedState = 'up' | 'refused' | 'silent';

/** Media nodes that answer probes and RoomService calls the way a spec says. */
export class ScriptedNodes implements NodeProber, LiveKitRoomApi, RoomAutoCreate {
  readonly state = new Map<string, ScriptedState>();
  /** Nodes whose joins create rooms (LiveKit's room.auto_create); by default none: every new session waits for CreateRoom. */
  readonly autoCreate = new Set<string>();
  /** Nodes that answer CreateRoom with an error of their own (as LiveKit's Twirp errors), reachable all the same. */
  readonly refusesRooms = new Set<string>();
  /** Extra time a node takes to answer CreateRoom; over `timeoutMs` it times out like the SDK's client. */
  readonly createDelayMs = new Map<string, number>();
  /** room name -> node url, sid and participant count, per node. */
  readonly rooms = new Map<string, Map<string, RoomOnNode>>();
  createCalls = 0;
  private nextSid = 1;
  /** Identities connected, per `${url} ${room}` (see `connect`). */
  private readonly connected = new Map<string, Set<string>>();

  constructor(
    readonly urls: string[],
    private readonly createTimeoutMs = 1_500,
  ) {
    for (const url of urls) {
      this.state.set(url, 'up');
      this.rooms.set(url, new Map());
    }
  }

  async probe(url: string, timeoutMs: number): Promise<ProbeResult> {
    const state = this.state.get(url);
    if (state === 'refused') return { ok: false, kind: 'refused', detail: 'ECONNREFUSED', latencyMs: 1 };
    if (state === 'silent') {
      await new Promise((resolve) => setTimeout(resolve, timeoutMs));
      return { ok: false, kind: 'timeout', detail: 'no answer', latencyMs: timeoutMs };
    }
    return { ok: true, latencyMs: 1 };
  }

  async joinsCreateRooms(url: string): Promise<boolean> {
    return this.autoCreate.has(url);
  }

  async createRoom(url: string, roomName: string): Promise<{ sid: string }> {
    this.createCalls++;
    const state = this.state.get(url);
    if (state === 'refused') throw new NodeCallError(url, 'refused', `RoomService on ${url}: refused`);
    const delay = state === 'silent' ? Infinity : (this.createDelayMs.get(url) ?? 0);
    if (delay >= this.createTimeoutMs) {
      await new Promise((resolve) => setTimeout(resolve, this.createTimeoutMs));
      throw new NodeCallError(url, 'timeout', `RoomService on ${url}: timeout`);
    }
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (this.refusesRooms.has(url)) throw new Error(`twirp error internal: ${url} will not create ${roomName}`);
    const rooms = this.rooms.get(url)!;
    const room = rooms.get(roomName) ?? { name: roomName, sid: `RM_${this.nextSid++}`, participants: 0 };
    rooms.set(roomName, room);
    return { sid: room.sid };
  }

  async deleteRoom(url: string, roomName: string): Promise<void> {
    this.rooms.get(url)?.delete(roomName);
  }

  async listRooms(url: string): Promise<RoomOnNode[]> {
    if (this.state.get(url) !== 'up') throw new NodeCallError(url, 'refused', `RoomService on ${url}: refused`);
    return [...(this.rooms.get(url)?.values() ?? [])].map((room) => ({ ...room }));
  }

  async listParticipants(url: string, roomName: string): Promise<string[]> {
    if (this.state.get(url) !== 'up') throw new NodeCallError(url, 'refused', `RoomService on ${url}: refused`);
    return [...(this.connected.get(`${url} ${roomName}`) ?? [])];
  }

  /** A participant connects to the room on that node (created if need be), as its node would count it. */
  connect(url: string, roomName: string, identity: string): void {
    const rooms = this.rooms.get(url)!;
    const room = rooms.get(roomName) ?? { name: roomName, sid: `RM_${this.nextSid++}`, participants: 0 };
    const present = this.connected.get(`${url} ${roomName}`) ?? new Set<string>();
    present.add(identity);
    this.connected.set(`${url} ${roomName}`, present);
    rooms.set(roomName, { ...room, participants: present.size });
  }
}

export interface InProcessApp {
  url: string;
  app: NestExpressApplication;
  nodes: ScriptedNodes;
  close(): Promise<void>;
}

export const TEST_API_KEY = 'in-process-key';
export const TEST_API_SECRET = 'in-process-secret-of-reasonable-length';

export async function startInProcessApp(
  options: {
    nodes?: number;
    clock?: Clock;
    scripted?: ScriptedNodes;
    store?: AppOverrides['store'];
    args?: string[];
    /** The operators' bearer token; TEST_ADMIN_TOKEN by default, null for none. */
    adminToken?: string | null;
    /** The --url flags, when they are not every scripted node (LiveKit's cluster: one URL in front of them). */
    urls?: string[];
  } = {},
): Promise<InProcessApp> {
  const scriptedUrls =
    options.scripted?.urls ?? Array.from({ length: options.nodes ?? 2 }, (_, i) => `ws://127.0.0.${i + 11}:7880`);
  const nodes = options.scripted ?? new ScriptedNodes(scriptedUrls);
  const urls = options.urls ?? scriptedUrls;
  const adminToken = options.adminToken === undefined ? TEST_ADMIN_TOKEN : options.adminToken;
  const admin = adminToken === null ? [] : ['--admin-token', adminToken];
  // Every spec's clients share 127.0.0.1: the per-address limits are off unless a spec sets them.
  const limits = ['--rate-limit', '--max-sockets-per-address'].flatMap((flag) =>
    options.args?.includes(flag) ? [] : [flag, '0'],
  );
  const config = parseConfig(
    [
      '--api-key',
      TEST_API_KEY,
      '--secret',
      TEST_API_SECRET,
      '--port',
      '0',
      ...urls.flatMap((url) => ['--url', url]),
      ...admin,
      ...limits,
      ...(options.args ?? []),
    ],
    {},
  );
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppModule.forRoot(config, null, {
        prober: nodes,
        roomApi: nodes,
        roomAutoCreate: nodes,
        clock: options.clock,
        store: options.store,
      }),
    ],
  }).compile();
  const nest = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: new AppLogger() });
  const app = configureApp(nest, config);
  // Listening on loopback too: socket.io clients and webhooks need a real port, supertest does not.
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, app, nodes, close: () => app.close() };
}

/** A signed participant_joined / participant_left for `joined`, from the room its scripted node holds; answers 200 or fails. */
export async function deliverPresence(
  stack: Pick<InProcessApp, 'url' | 'nodes'>,
  event: 'participant_joined' | 'participant_left',
  joined: Pick<JoinResponse, 'url' | 'sessionId' | 'identity'>,
  createdAtSec: number,
): Promise<void> {
  const roomSid = stack.nodes.rooms.get(joined.url)?.get(joined.sessionId)?.sid ?? '';
  const body = webhookBody({
    event,
    room: joined.sessionId,
    roomSid,
    identity: joined.identity,
    createdAt: createdAtSec,
  });
  const res = await postWebhook(stack.url, body, await signWebhook(body, TEST_API_KEY, TEST_API_SECRET));
  if (res.status !== 200)
    throw new Error(`${event} for ${joined.identity} answered ${res.status}: ${await res.text()}`);
}
