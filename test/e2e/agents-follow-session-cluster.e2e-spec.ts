// Agents follow their session in LiveKit's own cluster (real LiveKit only): two livekit-server members
// sharing a Redis behind one nginx URL, the backend in cluster mode (--url <cluster URL> --livekit-redis),
// and one real @livekit/agents worker (tools/agent-worker) given the cluster's URL and LiveKit's Redis: it
// registers with every member, its jobs connect through the cluster's URL and watch their room's own
// member. Two @livekit/rtc-node bots join through the backend with the `echo` agent in their room
// settings. Then the member holding the room (LiveKit's room_node_map) is SIGKILLed, again and again:
// the backend takes it out of LiveKit's registry and pushes fresh tokens for the cluster URL, LiveKit
// re-creates the room on the other member and dispatches the agent there, exactly one agent is in the
// new room, it hears everyone again, and the old job has ended instead of resuming into the new room.
// Measured: SIGKILL -> the agent's first packet from a participant in the re-created room. Also: the
// death of the member not holding the room ends nothing (the job resumes through the cluster's URL).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dispose } from '@livekit/rtc-node';
import Redis from 'ioredis';
import { freePort } from '../../src/shared/ports';
import { waitFor } from '../media-cluster/livekit-page';
import { p95, roomMembers, startPings, waitUntilGreeted, waitUntilHeard } from '../support/agent-checks';
import { startAgentWorker, type AgentWorker } from '../support/agent-worker';
import { startApp, type StartedApp } from '../support/app';
import { startMediaCluster, type LiveKitCluster, type MediaNodeInfo } from '../support/engines';
import { must } from '../support/must';
import { RtcNodeBot } from '../support/rtc-node-bot';
import { OPERATOR_HEADERS, operatorApi } from '../support/session-client';

const AGENT_NAME = 'echo';
const API_KEY = 'agents-cluster-key';
const API_SECRET = 'agents-cluster-secret-long-enough-for-livekit';
/** Dispatch, a job process's connect, ICE and the first keyframe: a few seconds here; more on a busy CI box. */
const AGENT_TIMEOUT_MS = 20_000;
/** The push, a new Room per bot, the room re-created on the other member, the agent's dispatch and connect. */
const BACK_AFTER_KILL_TIMEOUT_MS = 20_000;
/**
 * The old job ends once its room's member refuses connections (the job's watch): ~0.2 s, or ~3 s when
 * its signal was relayed by the surviving member (its Room's disconnect then waits for a leave that the
 * relay never answers). LiveKit's SDK alone would end it after ~16 s.
 */
const OLD_JOB_END_LIMIT_MS = 8_000;
/**
 * What each move must stay under here, loaded or not; the target (p95 <= 2 s) is bench:agents'. A bot
 * whose signal a surviving member relayed waits ~3 s for its old Room's disconnect (rtc-node-bot.ts),
 * and the agent hears a participant only once one is back: 3.4-4.4 s here at load 10.
 */
const AGENT_BACK_LIMIT_MS = 8_000;
/** A second agent (the old job resuming, or a second dispatch) would be in within this after the new one. */
const NO_SECOND_AGENT_WATCH_MS = 3_000;
/** Rooms whose signal a dead member relayed resume through the cluster's URL within this. */
const RESUME_TIMEOUT_MS = 30_000;
/** A restarted member: its registration comes back on the SDK's own retry (every 2-10 s). */
const REREGISTER_TIMEOUT_MS = 30_000;
/** How often each bot sends a data message: the agent's first packet after a move is at most this late. */
const PING_INTERVAL_MS = 50;
const MOVES = 3;

describe("agents follow their session (real LiveKit server, LiveKit's own cluster)", () => {
  let cluster: LiveKitCluster;
  let app: StartedApp;
  let worker: AgentWorker;
  let redis: Redis;
  const bots: RtcNodeBot[] = [];
  const sessionId = `agents-cluster-${process.pid}`;
  let stopPings: () => void = () => undefined;

  beforeAll(async () => {
    const appPort = await freePort();
    cluster = await startMediaCluster('livekit', {
      topology: 'cluster',
      nodes: 2,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      webhookUrl: `http://127.0.0.1:${appPort}/webhooks/livekit`,
    });
    redis = new Redis(cluster.livekitRedisUrl, { maxRetriesPerRequest: 1 });
    const nodePort = cluster.nodes()[0]!.port;
    app = await startApp({
      urls: [cluster.clusterUrl],
      apiKey: API_KEY,
      secret: API_SECRET,
      port: appPort,
      args: ['--livekit-redis', cluster.livekitRedisUrl, '--node-port', String(nodePort)],
    });
    worker = await startAgentWorker({
      url: cluster.clusterUrl,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      agentName: AGENT_NAME,
      cluster: { livekitRedis: cluster.livekitRedisUrl, nodePort },
    });
    for (const member of cluster.nodes()) await registeredWith(member, 0);
  });

  afterAll(async () => {
    stopPings();
    for (const bot of bots) await bot.close();
    await worker?.stop();
    await app?.stop();
    redis?.disconnect();
    await cluster?.stop();
  });

  /** The worker registered with `member` (at its own address) at or after `since`. */
  const registeredWith = (member: MediaNodeInfo, since: number) =>
    worker.waitForEvent(
      `the worker registered with ${member.name} (${member.url})`,
      (e) => e.event === 'worker-registered' && e.registeredWith === member.url && e.time >= since,
      REREGISTER_TIMEOUT_MS,
    );
  /** The member LiveKit's room_node_map names for the session's room. */
  const roomMember = async (): Promise<MediaNodeInfo> => {
    const id = await redis.hget('room_node_map', sessionId);
    return must(
      cluster.nodes().find((node) => id !== null && node.livekitNodeId === id),
      `the member room_node_map names (${id ?? 'none'})`,
    );
  };
  const inRoom = () => roomMembers(cluster.clusterUrl, API_KEY, API_SECRET, sessionId);
  /** Waits until every bot sees exactly one agent in its room, the same one; answers its identity. */
  const oneAgentSeenByEveryBot = async (what: string, timeoutMs: number): Promise<string> => {
    await waitFor(
      what,
      async () => {
        const seen = bots.map((bot) => bot.agentsInRoom());
        return seen.every((agents) => agents.length === 1 && agents[0] === seen[0]![0]);
      },
      timeoutMs,
    );
    return bots[0]!.agentsInRoom()[0]!;
  };
  const jobStarts = () => worker.events({ event: 'job-start', room: sessionId });
  const jobEnds = () => worker.events({ event: 'job-end', room: sessionId });
  const memberUp = (url: string) =>
    waitFor(
      `the backend seeing ${url} up`,
      async () => {
        const nodes = await operatorApi<Array<{ url: string; status: string }>>(app.url, '/api/nodes');
        return nodes.body.some((n) => n.url === url && n.status === 'up');
      },
      AGENT_TIMEOUT_MS,
    );

  it('a session asking for the echo agent gets it through the cluster: agent-here, its data echoed, its media received', async () => {
    bots.push(
      await RtcNodeBot.join(app.url, sessionId, 'Ann bot', {
        publish: true,
        join: { body: { room: { agents: [AGENT_NAME] } }, headers: OPERATOR_HEADERS },
      }),
    );
    bots.push(await RtcNodeBot.join(app.url, sessionId, 'Bob bot', { publish: true }));
    stopPings = startPings(bots, PING_INTERVAL_MS);
    // Cluster mode: every session lives on the one URL; LiveKit chose the member.
    for (const bot of bots) expect(bot.joined.url).toBe(cluster.clusterUrl);

    const job = await worker.waitForEvent(
      'the job for the session',
      (e) => e.event === 'job-start' && e.room === sessionId,
      AGENT_TIMEOUT_MS,
    );
    // Registered with one member, connected through the cluster's URL.
    expect(job.url).toBe(cluster.clusterUrl);
    expect(cluster.nodes().map((n) => n.url)).toContain(job.registeredWith);
    const agent = await oneAgentSeenByEveryBot('the agent in the room', AGENT_TIMEOUT_MS);
    expect((await inRoom()).agents).toEqual([agent]);
    await waitUntilGreeted(agent, 0, bots, AGENT_TIMEOUT_MS);
    await waitUntilHeard(worker, must(job.jobId, 'the job id'), bots, sessionId, 0, AGENT_TIMEOUT_MS);
    expect(jobStarts()).toHaveLength(1);
  });

  it(`SIGKILL of the room's member, ${MOVES} times: the agent is back in the re-created room, alone, hearing everyone; the old job ended`, async () => {
    const backAfterMs: number[] = [];
    const oldJobEndedAfterMs: number[] = [];
    for (let move = 1; move <= MOVES; move++) {
      const from = await roomMember();
      const to = must(
        cluster.nodes().find((n) => n.name !== from.name),
        'the other member',
      );
      const oldJob = must(jobStarts().at(-1), 'the running job');
      const generation = Math.max(...bots.map((bot) => bot.connections.at(-1)!.generation));
      const startsBefore = jobStarts().length;

      const killedAt = Date.now();
      const killedAtPerf = performance.now();
      await cluster.kill(from.name);

      await Promise.all(bots.map((bot) => bot.waitForGeneration(generation + 1, BACK_AFTER_KILL_TIMEOUT_MS)));
      for (const bot of bots) expect(bot.connections.at(-1)!.url).toBe(cluster.clusterUrl);
      const newJob = await worker.waitForEvent(
        'the job in the re-created room',
        (e) => e.event === 'job-start' && e.room === sessionId && e.time >= killedAt,
        BACK_AFTER_KILL_TIMEOUT_MS,
      );
      const newJobId = must(newJob.jobId, 'the new job id');
      const firstPacket = await worker.waitForEvent(
        'the agent’s first packet from a participant in the re-created room',
        (e) => e.event === 'first-packet' && e.jobId === newJobId && bots.some((bot) => bot.identity === e.from),
        BACK_AFTER_KILL_TIMEOUT_MS,
      );
      backAfterMs.push(firstPacket.time - killedAt);
      // LiveKit placed the room on the surviving member, and a registration there or anywhere took the job.
      expect((await roomMember()).name).toBe(to.name);

      await waitUntilHeard(worker, newJobId, bots, sessionId, killedAt, BACK_AFTER_KILL_TIMEOUT_MS);
      const agent = await oneAgentSeenByEveryBot('the new agent in the re-created room', BACK_AFTER_KILL_TIMEOUT_MS);
      expect(agent).toBe(`agent-${newJobId}`);
      await waitUntilGreeted(agent, killedAt, bots, BACK_AFTER_KILL_TIMEOUT_MS);

      const oldJobEnd = await worker.waitForEvent(
        'the old job’s end',
        (e) => e.event === 'job-end' && e.jobId === oldJob.jobId,
        OLD_JOB_END_LIMIT_MS,
      );
      oldJobEndedAfterMs.push(oldJobEnd.time - killedAt);
      // Ended by its watch of the room's own member, not by LiveKit's SDK giving up (~16 s), and never
      // resumed into the re-created room: it joined nothing after the kill.
      expect(oldJobEnd.reason).toMatch(/its room's node .* refuses connections: gone|its room moved from node/);

      // Exactly one agent, the new job's, in the re-created room, and it stays alone; one job per move.
      // The room as its node tells its participants: LiveKit's ListParticipants reads Redis in a
      // cluster, where the dead member's participants (the old agent too) stay listed.
      await new Promise((resolve) => setTimeout(resolve, NO_SECOND_AGENT_WATCH_MS));
      for (const bot of bots) expect(bot.agentsInRoom()).toEqual([agent]);
      const listed = await inRoom();
      expect(listed.agents).toContain(agent);
      expect(listed.others.sort()).toEqual(bots.map((bot) => bot.identity).sort());
      expect(jobStarts()).toHaveLength(startsBefore + 1);
      // Every job but the one running now has ended: no zombie.
      const ended = jobEnds().map((e) => e.jobId);
      expect(
        jobStarts()
          .filter((e) => !ended.includes(e.jobId))
          .map((e) => e.jobId),
      ).toEqual([newJobId]);
      // Where the time goes: the participants' return (the push, their new Rooms) bounds the agent's.
      const botsBack = bots
        .map((bot) => {
          const last = bot.connections.at(-1)!;
          const push = last.pushAt === undefined ? '?' : Math.round(last.pushAt - killedAtPerf);
          const left = last.leftOldMs === undefined ? '?' : Math.round(last.leftOldMs);
          return `${bot.identity} pushed ${push} ms, left its old Room in ${left} ms, connected ${Math.round(last.connectedAt - killedAtPerf)} ms`;
        })
        .join('; ');
      const joinedAt = worker.events({ event: 'job-connected', jobId: newJobId })[0]?.time;
      const jobJoined = joinedAt === undefined ? '?' : `${joinedAt - killedAt} ms`;
      console.log(
        `agents in LiveKit's cluster (move ${move}, ${from.name} -> ${to.name}): the agent's first packet in the re-created room ` +
          `${backAfterMs.at(-1)} ms after SIGKILL (${firstPacket.kind} from ${firstPacket.from}); the new job started after ` +
          `${newJob.time - killedAt} ms and joined after ${jobJoined}; ${botsBack}; the old job ended after ${oldJobEndedAfterMs.at(-1)} ms (${oldJobEnd.reason})`,
      );
      expect(backAfterMs.at(-1)).toBeLessThan(AGENT_BACK_LIMIT_MS);

      // The dead member back at its address (a new LiveKit id), and the worker registered with it again,
      // before the next kill takes the other one.
      const restartedAt = Date.now();
      await cluster.restart(from.name);
      await registeredWith(from, restartedAt);
      await memberUp(from.url);
    }
    console.log(
      `agents in LiveKit's cluster: SIGKILL -> the agent's first packet in the re-created room, ${MOVES} moves: ` +
        `${backAfterMs.join(', ')} ms (p95 ${p95(backAfterMs)} ms, target <= 2000 ms); old job ended after ` +
        `${oldJobEndedAfterMs.join(', ')} ms`,
    );
  }, 400_000);

  it('SIGKILL of the member not holding the room: nothing moves, the same job stays and keeps hearing everyone', async () => {
    const home = await roomMember();
    const other = must(
      cluster.nodes().find((n) => n.name !== home.name),
      'the other member',
    );
    const job = must(jobStarts().at(-1), 'the running job');
    const generation = Math.max(...bots.map((bot) => bot.connections.at(-1)!.generation));
    const agent = await oneAgentSeenByEveryBot('the agent in the room', AGENT_TIMEOUT_MS);
    expect(agent).toBe(`agent-${job.jobId}`);

    const killedAt = Date.now();
    await cluster.kill(other.name);
    // Whichever member relayed a participant's signal, its SDK resumes through the cluster's URL: the
    // bots and the job keep their room, and the echo keeps coming.
    await new Promise((resolve) => setTimeout(resolve, NO_SECOND_AGENT_WATCH_MS));
    const killedAtPerf = performance.now() - (Date.now() - killedAt);
    // A Room whose signal the dead member relayed resumes before it sends again (rtc-node holds data
    // while it reconnects): up to its SDK's reconnect attempts, longer than a move's wait under load.
    await waitUntilGreeted(agent, 0, bots, RESUME_TIMEOUT_MS, () =>
      bots
        .filter((bot) => !echoedSince(bot, agent, killedAt))
        .map((bot) => {
          const events = bot.roomEvents
            .filter((e) => e.at >= killedAtPerf)
            .map((e) => `+${Math.round(e.at - killedAtPerf)} ms ${e.event}`);
          const jobEvents = worker
            .events({ jobId: job.jobId })
            .filter((e) => e.time >= killedAt)
            .map((e) => `+${e.time - killedAt} ms ${e.event} ${e.why ?? e.reason ?? ''}`.trim());
          return (
            `${bot.identity} not echoed since the kill (its Room: ${events.join(', ') || 'no event'}; ` +
            `the job: ${jobEvents.join(', ') || 'no event'}; problems: ${bot.problems.join(', ') || 'none'})`
          );
        }),
    );
    expect((await roomMember()).name).toBe(home.name);
    for (const bot of bots) expect(bot.connections.at(-1)!.generation).toBe(generation);
    expect(jobStarts().at(-1)!.jobId).toBe(job.jobId);
    expect(jobEnds().filter((e) => e.jobId === job.jobId)).toEqual([]);
    for (const bot of bots) expect(bot.agentsInRoom()).toEqual([agent]);

    const restartedAt = Date.now();
    await cluster.restart(other.name);
    await registeredWith(other, restartedAt);
  }, 120_000);
});

/** `bot` got an echo of its own ping from `agent` after `since`. */
function echoedSince(bot: RtcNodeBot, agent: string, since: number): boolean {
  return bot.received.data.some(
    (d) => d.from === agent && d.topic === 'echo' && d.text.startsWith(`ping ${bot.identity} `) && d.at >= since,
  );
}

afterAll(async () => {
  // The Rust core's threads would keep Jest's process alive.
  await dispose();
});
