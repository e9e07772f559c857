import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { CLOCK, type Clock, type TimerHandle } from '../../common/clock';
import { connectRedis, untilReady } from '../../common/redis-connection';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { NodeHealthService } from '../node-health.service';
import type { RoomLocator } from '../room-locator';
import { decodeLiveKitNode, type LiveKitNodeEntry } from '../../shared/livekit-node';

/** LiveKit's own keys (pkg/routing/redisrouter.go, v1.13.5): node id -> livekit.Node, and room -> node id. */
export const LIVEKIT_NODES_KEY = 'nodes';
export const LIVEKIT_ROOM_NODE_KEY = 'room_node_map';

/** How often the registry is read: LiveKit's nodes rewrite their entry every 2 s, and a new one is probed at once. */
export const REGISTRY_POLL_MS = 1_000;
/** A node that left the registry and does not answer is forgotten after this long (it stays in /api/nodes meanwhile). */
export const REGISTRY_FORGET_MS = 30_000;
/** The start waits this long at most for a first read of the registry, so the start-up probes find the nodes. */
const FIRST_READ_MS = 2_000;
/** Past node ids kept per address: rooms placed before a node restarted still name its old id. */
const PAST_IDS_KEPT = 8;

interface RegisteredNode {
  url: string;
  /** Ids this address registered under, newest last (LiveKit draws a new one at each start). */
  ids: string[];
  /** The entry as last read; undefined while it is not in the registry. */
  entry?: LiveKitNodeEntry;
  /** When it was last seen in the registry. */
  seenAt: number;
}

/**
 * LiveKit's own multi-node cluster (--livekit-redis): its node registry, read from LiveKit's Redis. Each
 * registered node is watched by NodeHealthService at `ws://<its IP>:<--node-port>` (probed with GET /,
 * as independent nodes are); nodes come and go as LiveKit registers and unregisters them. It also says
 * which node holds a room (`room_node_map`), and takes a dead node out of the registry, the one write
 * the backend makes into LiveKit's Redis: `HDEL nodes <id>`, as LiveKit's RemoveDeadNodes does, after
 * which LiveKit's allocator places the room's next join on a live node (a node that is in fact alive
 * writes its entry back at its next stats update, within 2 s). Inert without --livekit-redis.
 */
@Injectable()
export class LiveKitRegistry implements RoomLocator, OnModuleInit, OnModuleDestroy {
  readonly roomOutlivesNode = true;
  private readonly logger = new Logger(LiveKitRegistry.name);
  private readonly redis: Redis | undefined;
  private readonly byUrl = new Map<string, RegisteredNode>();
  private readonly urlById = new Map<string, string>();
  /** Entries that could not be decoded, logged once each. */
  private readonly undecodable = new Set<string>();
  /** Node ids taken out of the registry, and when (one HDEL per death, however many moves ask). */
  private readonly evicted = new Map<string, number>();
  private timer?: TimerHandle;
  private stopped = false;
  private readFailing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly health: NodeHealthService,
  ) {
    if (config.livekitRedis) this.redis = connectRedis(config.livekitRedis, 'LiveKit registry');
  }

  get active(): boolean {
    return this.redis !== undefined;
  }

  async onModuleInit(): Promise<void> {
    if (!this.redis) return;
    // Before the start-up probes (onApplicationBootstrap): the nodes registered now are probed with them.
    await untilReady(this.redis, FIRST_READ_MS);
    await this.read();
    this.schedule();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.redis?.disconnect();
  }

  /** Whether LiveKit's Redis answers (readiness). Throws with why when it does not. */
  async check(): Promise<{ nodes: number }> {
    if (!this.redis) return { nodes: 0 };
    return { nodes: await this.redis.hlen(LIVEKIT_NODES_KEY) };
  }

  /** What GET /api/nodes adds to a node of the cluster: LiveKit's node id and its address. */
  describe(url: string): { id?: string; address?: string; registered: boolean } {
    const node = this.byUrl.get(url);
    if (!node) return { registered: false };
    return {
      id: node.ids.at(-1),
      address: node.entry?.ip ?? new URL(url).hostname,
      registered: node.entry !== undefined,
    };
  }

  async nodeOf(session: { sessionId: string; nodeUrl: string; rebuiltAt?: number }): Promise<string | undefined> {
    if (!this.redis) return session.nodeUrl;
    const id = await this.redis.hget(LIVEKIT_ROOM_NODE_KEY, session.sessionId);
    const url = id ? this.urlById.get(id) : undefined;
    // LiveKit rewrites room_node_map only when a join or CreateRoom places the room again. Until then it
    // names the dead node the session was moved off; taken for where the room is, every client report
    // in that window (nginx refusing while its members come back, say) moved the session again.
    if (url && session.rebuiltAt !== undefined && this.health.status(url) === 'down') {
      const downSince = this.health.snapshots().find((node) => node.url === url)?.since;
      if (downSince !== undefined && session.rebuiltAt >= downSince) return undefined;
    }
    return url;
  }

  async roomsOn(url: string): Promise<string[]> {
    const node = this.byUrl.get(url);
    if (!this.redis || !node) return [];
    const ids = new Set(node.ids);
    const map = await this.redis.hgetall(LIVEKIT_ROOM_NODE_KEY);
    return Object.entries(map)
      .filter(([, id]) => ids.has(id))
      .map(([room]) => room);
  }

  async evict(url: string): Promise<void> {
    const node = this.byUrl.get(url);
    const id = node?.entry?.id;
    if (!this.redis || !node || !id || this.evicted.has(id)) return;
    this.evicted.set(id, this.clock.now());
    await this.redis.hdel(LIVEKIT_NODES_KEY, id);
    this.logger.warn({
      msg: `node ${id} (${url}) taken out of LiveKit's registry: LiveKit places its rooms elsewhere now`,
      nodeUrl: url,
      nodeId: id,
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.read().finally(() => this.schedule());
    }, REGISTRY_POLL_MS);
  }

  /** One read of `nodes`: new nodes are watched, gone ones forgotten once they are down for long enough. */
  private async read(): Promise<void> {
    let fields: Record<string, Buffer>;
    try {
      fields = await this.redis!.hgetallBuffer(LIVEKIT_NODES_KEY);
      if (this.readFailing) this.logger.log("LiveKit's node registry answers again");
      this.readFailing = false;
    } catch (error) {
      if (!this.readFailing)
        this.logger.warn(
          `LiveKit's node registry cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        );
      this.readFailing = true;
      return;
    }
    const now = this.clock.now();
    const present = new Set<string>();
    for (const [id, bytes] of Object.entries(fields)) {
      let entry: LiveKitNodeEntry;
      try {
        entry = decodeLiveKitNode(bytes);
      } catch (error) {
        if (!this.undecodable.has(id))
          this.logger.warn(
            `LiveKit registry entry ${id} skipped: ${error instanceof Error ? error.message : String(error)}`,
          );
        this.undecodable.add(id);
        continue;
      }
      const url = `ws://${entry.ip}:${this.config.nodePort}`;
      present.add(url);
      this.register(url, entry, now);
    }
    for (const node of this.byUrl.values()) {
      if (present.has(node.url)) continue;
      node.entry = undefined;
      if (this.health.status(node.url) !== 'up' && now - node.seenAt >= REGISTRY_FORGET_MS) {
        this.byUrl.delete(node.url);
        for (const id of node.ids) this.urlById.delete(id);
        this.health.forget(node.url);
        this.logger.log({
          msg: `node ${node.url} forgotten: out of LiveKit's registry and not answering`,
          nodeUrl: node.url,
        });
      }
    }
    for (const [id, at] of this.evicted) if (now - at >= REGISTRY_FORGET_MS) this.evicted.delete(id);
  }

  private register(url: string, entry: LiveKitNodeEntry, now: number): void {
    let node = this.byUrl.get(url);
    if (!node) {
      node = { url, ids: [], seenAt: now };
      this.byUrl.set(url, node);
      this.logger.log({
        msg: `node ${entry.id} registered in LiveKit's cluster at ${entry.ip}: watching ${url}`,
        nodeUrl: url,
        nodeId: entry.id,
      });
      this.health.watch(url);
    }
    if (node.ids.at(-1) !== entry.id) {
      node.ids = [...node.ids.filter((id) => id !== entry.id), entry.id].slice(-PAST_IDS_KEPT);
      this.urlById.set(entry.id, url);
    }
    node.entry = entry;
    node.seenAt = now;
    // Back in the registry (a node we took out that was alive after all): a later death is evicted again.
    this.evicted.delete(entry.id);
  }
}
