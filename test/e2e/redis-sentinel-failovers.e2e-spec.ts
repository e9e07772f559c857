// Connections through Sentinel survive one failover after another (real redis-server primary, replica
// and three sentinels): each connection the backend makes (connectRedis: the store, the node health
// board, socket.io's pub and sub, auto-pipelined or not) answers again once a replica is promoted, and
// again after the next primary dies. bench:chaos found every one of them closed for good after a
// failover ("Connection is closed." until the run ended): ioredis' failover detector, told of the
// promotion (+switch-master) while the connection was reconnecting to the dead primary, ended it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import IORedis, { type Redis } from 'ioredis';
import { connectRedis } from '../../src/common/redis-connection';
import type { RedisTarget } from '../../src/config/redis-target';
import { startRedisSentinel, type RedisSentinelTopology } from '../../src/local-stack/redis-sentinel';

const FAILOVERS = 3;
/**
 * down-after-milliseconds (1 s), the sentinels' election, and the reconnect's pace (at most 1 s): 2.5-3 s
 * here. An election whose vote splits is tried again only after twice the failover timeout (10 s in the
 * topology): one such retry fits.
 */
const BACK_WITHIN_MS = 25_000;
/** Before a kill, the sentinels agree on the primary and its replica, and no failover is in progress. */
const SETTLE_TIMEOUT_MS = 20_000;

describe('connections through Sentinel, failover after failover', () => {
  let redis: RedisSentinelTopology;
  const clients: Redis[] = [];

  beforeAll(async () => {
    redis = await startRedisSentinel({ downAfterMs: 1_000 });
    const target: RedisTarget = {
      sentinels: redis.sentinels.map((entry) => {
        const [host, port] = entry.split(':');
        return { host: host!, port: Number(port) };
      }),
      name: redis.name,
    };
    // As an instance has them: the store and the node health board (auto-pipelined), socket.io's pub
    // and sub (not).
    clients.push(
      connectRedis(target, 'store'),
      connectRedis(target, 'node health'),
      connectRedis(target, 'socket.io pub', { autoPipelining: false }),
      connectRedis(target, 'socket.io sub', { autoPipelining: false }),
    );
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redis?.stop();
  });

  /**
   * Every sentinel names the same primary, sees its one replica, and has no failover in progress: a kill
   * before that (the previous failover still reconfiguring the restarted server) may find no sentinel
   * willing to start another one.
   */
  const sentinelsSettled = async (): Promise<void> => {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const views = await Promise.all(
        redis.sentinels.map(async (entry) => {
          const [host, port] = entry.split(':');
          const sentinel = new IORedis(Number(port), host!, { lazyConnect: true, maxRetriesPerRequest: 0 });
          try {
            await sentinel.connect();
            const fields = (await sentinel.call('SENTINEL', 'MASTER', redis.name)) as string[];
            const field = (name: string) => fields[fields.indexOf(name) + 1];
            return `${field('port')} ${field('flags')} replicas ${field('num-slaves')}`;
          } catch (error) {
            return (error as Error).message;
          } finally {
            sentinel.disconnect();
          }
        }),
      );
      if (views.every((view) => view === views[0] && /^\d+ master replicas 1$/.test(view))) return;
      if (Date.now() > deadline) throw new Error(`the sentinels did not settle: ${views.join('; ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  /** Resolves with how long after `since` every client answered a write, or throws naming their states. */
  const everyoneWrites = async (since: number, value: string): Promise<number> => {
    for (;;) {
      const answers = await Promise.all(
        clients.map((client) =>
          client.set('failover-probe', value).then(
            () => 'ok',
            (error: Error) => `${client.status}: ${error.message}`,
          ),
        ),
      );
      if (answers.every((answer) => answer === 'ok')) return Date.now() - since;
      if (Date.now() - since > BACK_WITHIN_MS)
        throw new Error(`not every connection writes ${BACK_WITHIN_MS} ms after the kill: ${answers.join('; ')}`);
      // The pace of an instance's own traffic in a quiet moment (a probe round, a sweep): the detector
      // ended the connections when the promotion was announced while they were between attempts.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };

  it(`every connection writes again after each of ${FAILOVERS} primaries is SIGKILLed`, async () => {
    await everyoneWrites(Date.now(), 'before');
    const backAfterMs: number[] = [];
    for (let failover = 1; failover <= FAILOVERS; failover++) {
      await redis.untilReplicated(1);
      await sentinelsSettled();
      const killedAt = Date.now();
      const port = await redis.killPrimary();
      backAfterMs.push(await everyoneWrites(killedAt, `after-${failover}`));
      // The dead primary comes back as a replica of the promoted one, once the sentinels name that one
      // (a restart while one still named the dead port made it a replica of itself, and nothing synced
      // within 15 s): the next failover has somewhere to go.
      const deadline = Date.now() + BACK_WITHIN_MS;
      while ((await redis.primaryPort()) === port) {
        if (Date.now() > deadline) throw new Error(`the sentinels still name the dead primary :${port}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await redis.restart(port);
    }
    console.log(
      `connections through Sentinel: writing again ${backAfterMs.join(', ')} ms after each primary's SIGKILL`,
    );
    expect(backAfterMs).toHaveLength(FAILOVERS);
  }, 150_000);
});
