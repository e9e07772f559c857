import type Redis from 'ioredis';
import { BOARD_FORGET_MS, type NodeHealthBoard, type PeerNodeView } from '../../nodes/node-health-board';
import { RedisScript } from './redis-script';

/**
 * Writes one instance's view of a node, deletes the views written more than the forget window before it
 * and sets the hash to expire after that window. Per field expiry (HPEXPIRE) needs Redis 7.4; this
 * works on 7.0 (Debian's). A field that is not a view (another program's) is left to the hash's expiry.
 * KEYS: the node's hash. ARGV: instance, view JSON, the view's `at` minus the window, the window.
 */
const PUBLISH_VIEW = new RedisScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local fields = redis.call('HGETALL', KEYS[1])
local cutoff = tonumber(ARGV[3])
for i = 1, #fields, 2 do
  local ok, view = pcall(cjson.decode, fields[i + 1])
  if ok and type(view) == 'table' and type(view.at) == 'number' and view.at < cutoff then redis.call('HDEL', KEYS[1], fields[i]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0`);

/**
 * The board in Redis: a hash per node (instance -> view JSON) and a channel for announcements.
 * `subscriber` is a connection of its own (a subscribed connection runs no other commands).
 */
export class RedisNodeHealthBoard implements NodeHealthBoard {
  private readonly channel: string;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    readonly instance: string,
    private readonly keyPrefix: string,
  ) {
    this.channel = `${keyPrefix}node-health`;
  }

  private key(url: string): string {
    return `${this.keyPrefix}node-health:${url}`;
  }

  async publish(views: PeerNodeView[], announce: boolean): Promise<void> {
    if (views.length === 0) return;
    // One call per node: auto-pipelining sends them in one write.
    const writes = views.map((view) =>
      PUBLISH_VIEW.run(
        this.redis,
        [this.key(view.url)],
        [view.instance, JSON.stringify(view), view.at - BOARD_FORGET_MS, BOARD_FORGET_MS],
      ),
    );
    if (announce) for (const view of views) writes.push(this.redis.publish(this.channel, JSON.stringify(view)));
    await Promise.all(writes);
  }

  async read(urls: readonly string[], freshMs: number): Promise<PeerNodeView[]> {
    if (urls.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const url of urls) pipeline.hgetall(this.key(url));
    const replies = (await pipeline.exec()) ?? [];
    const now = Date.now();
    const views: PeerNodeView[] = [];
    for (const [error, fields] of replies) {
      if (error) throw error;
      for (const json of Object.values(fields as Record<string, string>)) {
        const view = parseView(json);
        if (view && now - view.at <= freshMs) views.push(view);
      }
    }
    return views;
  }

  async subscribe(listener: (view: PeerNodeView) => void): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const view = parseView(message);
      if (view && view.instance !== this.instance) listener(view);
    });
    // Only once the connection is ready: a SUBSCRIBE sent while ioredis still checks the server (its
    // INFO) made the check fail ("only subscriber commands may be used"), and the subscription was
    // lost in the reconnect that followed, silently. ioredis subscribes again after later reconnects.
    if (this.subscriber.status !== 'ready')
      await new Promise<void>((resolve) => this.subscriber.once('ready', () => resolve()));
    await this.subscriber.subscribe(this.channel);
  }

  close(): void {
    this.subscriber.disconnect();
  }
}

const STATUSES: ReadonlySet<string> = new Set(['unknown', 'up', 'suspect', 'down']);

/** A view as written by an instance; anything else (another program's data in a shared Redis) is skipped. */
function parseView(json: string): PeerNodeView | undefined {
  try {
    const v = JSON.parse(json) as Partial<PeerNodeView>;
    if (
      typeof v.url !== 'string' ||
      typeof v.instance !== 'string' ||
      typeof v.status !== 'string' ||
      !STATUSES.has(v.status)
    )
      return undefined;
    if (typeof v.since !== 'number' || typeof v.at !== 'number' || typeof v.reason !== 'string') return undefined;
    return {
      url: v.url,
      instance: v.instance,
      status: v.status,
      since: v.since,
      reason: v.reason,
      at: v.at,
    };
  } catch {
    return undefined;
  }
}
