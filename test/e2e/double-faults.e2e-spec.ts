// Two faults at once, on the production layout (npm run cluster's: two backend instances from dist over
// a real redis-server, real nginx in front, three media nodes), with signal-level participants
// that move only when the backend pushes them a token (test/support/signal-participant). After each: every
// session is on a live node, every participant was pushed a fresh token and is joined there, no session
// is lost, and no session was rebuilt more often than the nodes it had to leave.
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import Redis from 'ioredis';
import type * as LocalStackApi from '../../src/local-stack';
import type { AppInfo, SessionSummary } from '../../src/contracts';
import { built } from '../support/built';
import { describeEach } from '../support/each-topology';
import { ENGINES, type MediaEngine } from '../support/engines';
import { SignalParticipant } from '../support/signal-participant';
import { waitForValue } from '../support/wait-for-value';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the compiled build (dist/), not the sources
const { startLocalStack } = require(built('src/local-stack')) as typeof LocalStackApi;

/**
 * A node and the instance holding its sockets die: the other instance's probe sees the refused port
 * within one interval (250 ms), its herd may wait out a lease the dead instance held (1 s), the sockets
 * come back through nginx (one 250 ms retry; nginx passes a refused connection to the next upstream) and
 * are sent the move they missed, and the signal joins the new node (~50 ms). About 1.6 s; twice that
 * and a second for a loaded 2-core machine.
 */
const INSTANCE_AND_NODE_BOUND_MS = 4_500;
/**
 * A node dies while Redis is away: once Redis answers, the instances' store connections are back
 * within their one-second reconnect and the herd's next retry follows (every 500 ms); a push that found
 * no subscriber reaches its participant when its instance's subscriber is back (cut every 50 ms for
 * SUBSCRIBERS_LAG_MS, it reconnects 100 ms after each cut, and each return catches that instance's
 * sockets up; at worst once the cuts end); then the join. At most about 1.7 s; room for a loaded machine.
 */
const AFTER_REDIS_BOUND_MS = 4_000;
/** After Redis is back, its pub/sub clients are disconnected again for this long (longer than a herd retry, HERD_RETRY_MS). */
const SUBSCRIBERS_LAG_MS = 1_000;
/** How long Redis stays away (the node dies in the middle of it). */
const REDIS_AWAY_MS = 2_000;
/**
 * Two node deaths in a row, each seen within one probe interval and moved at once, and the signal
 * joins twice: about 1 s. Room for a loaded machine.
 */
const HERD_CHASE_BOUND_MS = 4_500;
/** After recovery, a second rebuild (a duplicate) is given this long to show itself. */
const SETTLE_MS = 1_000;
const NODES_UP_TIMEOUT_MS = 15_000;
const SESSIONS = 6;
const SIZE = 2;
const JOIN_CONCURRENCY = 3;

/**
 * One engine a run, to keep npm test's budget: the dev engine, or the real LiveKit server when
 * TEST_ENGINES names it alone (TEST_ENGINES=livekit npx jest test/e2e/double-faults.e2e-spec.ts).
 */
const ENGINE_OF_THIS_RUN: MediaEngine[] = ENGINES.length > 0 ? ENGINES.slice(0, 1) : ['dev', 'livekit'];

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const ms = (value: number) => Math.round(value);

describeEach(
  ENGINE_OF_THIS_RUN,
  'double faults: two backend instances over Redis behind nginx, three nodes (%s)',
  (engine) => {
    let stack: LocalStackApi.LocalStack;
    let participants: SignalParticipant[] = [];
    let redisStopped = false;
    /** The instances' lines (with performance.now()), printed when a spec fails. */
    const log: string[] = [];

    const statusOf = async (instanceUrl: string) =>
      (await (await fetch(`${instanceUrl}/api/nodes`, { signal: AbortSignal.timeout(2_000) })).json()) as Array<{
        url: string;
        status: string;
      }>;
    /** Restarts what the last spec killed (Redis too) and waits until every instance sees every node up. */
    const healAll = async () => {
      if (!stack) return;
      if (redisStopped) await stack.redis.start();
      redisStopped = false;
      for (const node of stack.media.nodes()) if (node.state === 'dead') await stack.media.restart(node.name);
      for (const instance of stack.instances) if (!instance.alive()) await instance.restart();
      await waitForValue(
        async () => {
          const views = await Promise.all(stack.instances.map((i) => statusOf(i.url).catch(() => [])));
          return views.every((v) => v.length === 3 && v.every((n) => n.status === 'up')) ? true : undefined;
        },
        NODES_UP_TIMEOUT_MS,
        'every instance sees every node up',
      );
    };
    const sessions = async () =>
      (await (
        await fetch(`${stack.url}/api/sessions`, { signal: AbortSignal.timeout(5_000) })
      ).json()) as SessionSummary[];
    /** SESSIONS sessions of SIZE participants, joined through nginx (placement spreads them over the nodes). */
    const fill = async (prefix: string, socketsOn?: (p: number) => string) => {
      const joined: SignalParticipant[] = [];
      // Three sessions at a time, each one's participants in turn (the first creates it).
      for (let first = 0; first < SESSIONS; first += JOIN_CONCURRENCY)
        await Promise.all(
          Array.from({ length: Math.min(JOIN_CONCURRENCY, SESSIONS - first) }, async (_, i) => {
            for (let p = 0; p < SIZE; p++) {
              const participant = await SignalParticipant.join(stack.url, `${prefix}-${first + i}`, `P${p}`, {
                socketUrl: socketsOn?.(p),
              });
              participants.push(participant);
              joined.push(participant);
            }
          }),
        );
      return joined;
    };
    /** The node holding most of these participants' sessions. */
    const busiest = (joined: SignalParticipant[]) => {
      const counts = new Map<string, number>();
      for (const p of joined) counts.set(p.joined.url, (counts.get(p.joined.url) ?? 0) + 1);
      return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    };
    /** A spec's body; when it fails, the instances' last lines are printed with it. */
    const withInstanceLog = (body: () => Promise<void>) => async () => {
      const from = log.length;
      try {
        await body();
      } catch (error) {
        console.log(`the instances' lines during the failed spec:\n${log.slice(from).slice(-200).join('\n')}`);
        throw error;
      }
    };
    const nodeNamed = (url: string) => stack.media.nodes().find((n) => n.url === url)!;

    /**
     * What users need after the faults: each session on a live node at the generation its moves explain
     * (one per dead node it sat on: no duplicate rebuild), each participant pushed that generation's
     * token and joined on that node, and no session or participant lost.
     */
    const expectRecovered = async (joined: SignalParticipant[], dead: Set<string>) => {
      const listed = new Map((await sessions()).map((s) => [s.sessionId, s]));
      const live = new Set(
        stack.media
          .nodes()
          .filter((n) => n.state === 'running')
          .map((n) => n.url),
      );
      for (const [sessionId, members] of groupBySession(joined)) {
        const session = listed.get(sessionId);
        expect(session).toBeDefined(); // not lost
        expect(session!.participants.map((p) => p.identity).sort()).toEqual(members.map((m) => m.identity).sort());
        expect([sessionId, session!.waitingForNode, live.has(session!.nodeUrl)]).toEqual([sessionId, false, true]);
        // The path the session took, from what its participants were pushed: generation -> url.
        const path = new Map<number, string>([[1, members[0]!.joined.url]]);
        for (const m of members) for (const push of m.pushes) path.set(push.generation, push.url);
        const left = [...path].filter(([generation]) => generation < session!.generation).map(([, url]) => url);
        // Every generation is one rebuild, and each left a node that died: exactly one per dead node.
        expect([sessionId, session!.generation, left.every((url) => dead.has(url))]).toEqual([
          sessionId,
          1 + new Set(left).size,
          true,
        ]);
        expect([sessionId, path.get(session!.generation)]).toEqual([sessionId, session!.nodeUrl]);
        for (const m of members) {
          expect([m.identity, m.connectedUrl, m.generation, m.signalOpen()]).toEqual([
            m.identity,
            session!.nodeUrl,
            session!.generation,
            true,
          ]);
          // Pushed each token it joined with (live, or as a catch-up on its socket's return); none for a session that stayed.
          const generations = [...new Set(m.pushes.map((p) => p.generation))];
          expect([m.identity, generations.every((g) => g >= 2 && g <= session!.generation)]).toEqual([
            m.identity,
            true,
          ]);
          expect([m.identity, Math.max(1, ...generations)]).toEqual([m.identity, session!.generation]);
        }
      }
    };

    beforeAll(async () => {
      stack = await startLocalStack({
        instances: 2,
        nodes: 3,
        port: 0,
        media: engine,
        onLog: (line) => log.push(`${Math.round(performance.now())} ${line}`),
      });
    });

    // Healed before each spec rather than after: the last one's dead node and instance are only stopped.
    beforeEach(healAll);

    afterEach(() => {
      for (const p of participants) p.close();
      participants = [];
    });

    afterAll(async () => {
      for (const p of participants) p.close();
      await stack?.stop();
    });

    it(
      'a media node and the backend instance holding its sockets, SIGKILLed together: the other instance moves its sessions and the sockets come back to it',
      withInstanceLog(async () => {
        const joined = await fill('both');
        // nginx hashes the client address: every socket of this machine is on one instance.
        const info = (await (await fetch(`${stack.url}/api/info`)).json()) as AppInfo;
        const holder = stack.instances.find((i) => i.pid() === info.instance.pid)!;
        expect(holder).toBeDefined();
        const victim = busiest(joined);
        const moving = joined.filter((p) => p.joined.url === victim);
        const staying = joined.filter((p) => p.joined.url !== victim);

        const killing = stack.media.kill(nodeNamed(victim).name);
        holder.kill();
        const killedAt = performance.now();
        await killing;

        await Promise.all(moving.map((p) => p.connectedAtGeneration(2, INSTANCE_AND_NODE_BOUND_MS)));
        await Promise.all(
          staying.map((p) =>
            waitForValue(
              () => (p.socketDrops[0]?.backAt ? true : undefined),
              INSTANCE_AND_NODE_BOUND_MS,
              'socket back',
            ),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        await expectRecovered(joined, new Set([victim]));
        for (const p of staying) expect([p.identity, p.pushes]).toEqual([p.identity, []]);
        expect(holder.alive()).toBe(false);

        const connected = moving.map((p) => p.connectedAt - killedAt);
        const socketsBack = joined.map((p) => p.socketDrops[0]!.backAt! - killedAt);
        console.log(
          `double fault, node + its sockets' instance SIGKILLed: ${moving.length} participants of ${moving.length / SIZE} sessions ` +
            `joined on a live node ${ms(median(connected))} ms (median), ${ms(Math.max(...connected))} ms (max) after the kills; ` +
            `sockets back on the other instance ${ms(median(socketsBack))} / ${ms(Math.max(...socketsBack))} ms (median / max)`,
        );
      }),
    );

    it(
      'a media node dies while Redis restarts, whose subscribers come back last: every participant, on either instance, is pushed its move',
      withInstanceLog(async () => {
        // Each session has a participant whose socket is on each instance: whichever rebuilds, a push must
        // cross to the other through Redis pub/sub.
        const joined = await fill('redis', (p) => stack.instances[p % 2]!.url);
        const victim = busiest(joined);
        const moving = joined.filter((p) => p.joined.url === victim);
        const staying = joined.filter((p) => p.joined.url !== victim);

        redisStopped = true;
        await stack.redis.stop();
        const redisDownAt = performance.now();
        await stack.media.kill(nodeNamed(victim).name);
        const killedAt = performance.now();
        await new Promise((resolve) => setTimeout(resolve, REDIS_AWAY_MS - (killedAt - redisDownAt)));
        await stack.redis.start();
        redisStopped = false;
        const redisBackAt = performance.now();
        // Each connection reconnects on its own backoff: the store's may be back while the pub/sub
        // subscribers are not yet, and a push published meanwhile reaches nobody on the other instance.
        await holdOffSubscribers(stack.redis.url, SUBSCRIBERS_LAG_MS);

        await Promise.all(moving.map((p) => p.connectedAtGeneration(2, AFTER_REDIS_BOUND_MS)));
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        await expectRecovered(joined, new Set([victim]));
        for (const p of staying) expect([p.identity, p.pushes, p.signalOpen()]).toEqual([p.identity, [], true]);

        const afterRedis = moving.map((p) => p.connectedAt - redisBackAt);
        const pushed = moving.map((p) => p.pushes[0]!.at - redisBackAt);
        console.log(
          `double fault, node SIGKILLed while Redis restarts (${ms(redisBackAt - redisDownAt)} ms away, its subscribers held off ${SUBSCRIBERS_LAG_MS} ms more): ` +
            `${moving.length} participants of ${moving.length / SIZE} sessions pushed ${ms(median(pushed))} / ${ms(Math.max(...pushed))} ms ` +
            `and joined on a live node ${ms(median(afterRedis))} / ${ms(Math.max(...afterRedis))} ms (median / max) after Redis answered again`,
        );
      }),
    );

    it(
      "a herd chasing a dying node: the node the first one's sessions are moving onto dies too, and they move on again",
      withInstanceLog(async () => {
        const joined = await fill('chase');
        const first = busiest(joined);
        const moving = joined.filter((p) => p.joined.url === first);
        const killedAt = performance.now();
        await stack.media.kill(nodeNamed(first).name);

        // The first participant pushed off the first node names where the herd goes; that node dies while
        // the participants are on their way (their signal joins in flight).
        const second = await waitForValue(
          () => moving.flatMap((p) => p.pushes).find((push) => push.generation === 2)?.url,
          HERD_CHASE_BOUND_MS,
          'a push off the first node',
        );
        await stack.media.kill(nodeNamed(second).name);
        const secondKilledAt = performance.now();
        const pushedOnto = moving.filter((p) => p.pushes.some((push) => push.url === second));
        const onTheirWay = pushedOnto.filter((p) => p.connectedUrl !== second).length;
        const survivor = stack.media.nodes().find((n) => n.state === 'running')!.url;

        await waitForValue(
          async () => {
            const listed = (await sessions()).filter((s) => s.sessionId.startsWith('chase-'));
            return listed.every((s) => s.nodeUrl === survivor) ? true : undefined;
          },
          HERD_CHASE_BOUND_MS,
          'every session on the last node',
        );
        const final = new Map((await sessions()).map((s) => [s.sessionId, s.generation]));
        await Promise.all(joined.map((p) => p.connectedAtGeneration(final.get(p.sessionId)!, HERD_CHASE_BOUND_MS)));
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        await expectRecovered(joined, new Set([first, second]));
        const chased = joined.filter((p) => p.pushes.some((push) => push.url === second && push.generation === 2));
        expect(chased.length).toBeGreaterThan(0);
        for (const p of joined) expect([p.identity, p.connectedUrl]).toEqual([p.identity, survivor]);

        const movedTwice = chased.map((p) => p.connectedAt - killedAt);
        const afterSecond = joined.filter((p) => p.joined.url !== survivor).map((p) => p.connectedAt - secondKilledAt);
        console.log(
          `double fault, herd chasing a dying node: second node SIGKILLed ${ms(secondKilledAt - killedAt)} ms after the first ` +
            `(${pushedOnto.length} of its ${moving.length} participants pushed onto it, ${onTheirWay} of them not yet joined there); ${chased.length} participants moved twice, ` +
            `joined on the last node ${ms(median(movedTwice))} / ${ms(Math.max(...movedTwice))} ms after the first kill; every moved ` +
            `participant joined there ${ms(median(afterSecond))} / ${ms(Math.max(...afterSecond))} ms after the second kill (median / max)`,
        );
      }),
    );
  },
);

/** Disconnects every pub/sub client of the Redis at `url` (CLIENT KILL TYPE pubsub) every 50 ms for `ms`. */
async function holdOffSubscribers(url: string, ms: number): Promise<void> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      await admin.client('KILL', 'TYPE', 'pubsub');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    admin.disconnect();
  }
}

function groupBySession(participants: SignalParticipant[]): Map<string, SignalParticipant[]> {
  const groups = new Map<string, SignalParticipant[]>();
  for (const p of participants) groups.set(p.sessionId, [...(groups.get(p.sessionId) ?? []), p]);
  return groups;
}
