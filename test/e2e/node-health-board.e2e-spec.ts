// The node-health board in a real redis-server: a hash per node, one field per instance. Instances come
// and go (each start is a new host:pid field), so a field nobody rewrites must go, and a hash nobody
// writes any more too. The views' own `at` stamps set the age, so nothing here waits a minute.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Redis from 'ioredis';
import { RedisNodeHealthBoard } from '../../src/backplane/redis/redis-node-health-board';
import { BOARD_FORGET_MS, BOARD_FRESH_MS, type PeerNodeView } from '../../src/nodes/node-health-board';
import { startRedisServer, type RedisServer } from '../support/redis-server';

const PREFIX = 'sr-board-spec:';
const NODE = 'ws://10.0.0.1:7880';

function view(instance: string, at: number, url = NODE): PeerNodeView {
  return { url, instance, status: 'up', since: at - 1_000, reason: 'probe answered', at };
}

describe(RedisNodeHealthBoard.name, () => {
  let server: RedisServer;
  const connections: Redis[] = [];
  let reader: Redis;
  const board = (instance: string) => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const subscriber = new Redis(server.url);
    connections.push(redis, subscriber);
    return new RedisNodeHealthBoard(redis, subscriber, instance, PREFIX);
  };

  beforeAll(async () => {
    server = await startRedisServer();
    reader = new Redis(server.url, { maxRetriesPerRequest: 1 });
    connections.push(reader);
  });
  afterAll(async () => {
    for (const connection of connections) connection.disconnect();
    await server?.close();
  });

  it('forgets the field of an instance that stopped writing once another instance writes, and keeps recent ones', async () => {
    const now = Date.now();
    const quiet = board('host:1002'); // wrote a little less than the forget window ago
    const gone = board('host:1001'); // started ten minutes ago and died since
    const live = board('host:1003');
    await quiet.publish([view(quiet.instance, now - BOARD_FORGET_MS + 5_000)], false);
    await gone.publish(
      [view(gone.instance, now - 10 * 60_000), view(gone.instance, now - 10 * 60_000, 'ws://10.0.0.2:7880')],
      false,
    );
    expect((await reader.hkeys(`${PREFIX}node-health:${NODE}`)).sort()).toEqual(['host:1001', 'host:1002']);
    await live.publish([view(live.instance, now)], true);
    expect((await reader.hkeys(`${PREFIX}node-health:${NODE}`)).sort()).toEqual(['host:1002', 'host:1003']);
    // Reads still go by freshness: the quiet instance's view is kept, not shown.
    expect((await live.read([NODE], BOARD_FRESH_MS)).map((v) => v.instance)).toEqual(['host:1003']);
  });

  it('a hash nobody writes any more expires as a whole', async () => {
    const url = 'ws://10.0.0.3:7880';
    const lone = board('host:2001');
    await lone.publish([view(lone.instance, Date.now(), url)], false);
    const ttl = await reader.pttl(`${PREFIX}node-health:${url}`);
    expect(ttl).toBeGreaterThan(BOARD_FORGET_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(BOARD_FORGET_MS);
  });
});
