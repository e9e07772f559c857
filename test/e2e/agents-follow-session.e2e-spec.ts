// Agents follow their session (real LiveKit only: the dev cluster dispatches no agents). A session asks
// for the `echo` agent in its room settings; a real @livekit/agents worker (tools/agent-worker) is
// registered with each of two independent LiveKit nodes. Two @livekit/rtc-node bots join through the
// backend, the agent arrives, says `agent-here`, echoes their data and receives their media. Then the
// session's node is SIGKILLed, again and again: the bots follow the backend's push, LiveKit dispatches the
// agent again on the new node (the tokens' and CreateRoom's roomConfig.agents), exactly one agent is in
// the new room, it receives media and data again, and the old job has ended. Measured: SIGKILL -> the
// agent's first packet from a participant on the new node.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dispose, Room } from '@livekit/rtc-node';
import type { SessionSummary } from '../../src/contracts';
import { parseConfig } from '../../src/config/parse-config';
import { DEFAULT_GRANTS, DEFAULT_ROOM_SETTINGS } from '../../src/sessions/session-policy';
import type { ParticipantRecord } from '../../src/sessions/session.model';
import { TokenService } from '../../src/sessions/token.service';
import { waitFor } from '../media-cluster/livekit-page';
import { p95, roomMembers, startPings, waitUntilGreeted, waitUntilHeard } from '../support/agent-checks';
import { startAgentWorker, type AgentEvent, type AgentWorker } from '../support/agent-worker';
import { must } from '../support/must';
import { startRebuildStack, type RebuildStack } from '../support/rebuild-stack';
import { RtcNodeBot } from '../support/rtc-node-bot';
import { OPERATOR_HEADERS, operatorApi } from '../support/session-client';

const AGENT_NAME = 'echo';
/** Dispatch, a job process's connect, ICE and the first keyframe: a few seconds here; more on a busy CI box. */
const AGENT_TIMEOUT_MS = 20_000;
/** The push, a new Room per bot, the agent's dispatch and connect on the new node. */
const BACK_AFTER_KILL_TIMEOUT_MS = 20_000;
/** The old job ends once its node refuses connections (the worker's node-loss watch), well before this. */
const OLD_JOB_END_LIMIT_MS = 5_000;
/** What each move must stay under here, loaded or not; the target (p95 <= 2 s) is reported, not asserted. */
const AGENT_BACK_LIMIT_MS = 6_000;
/** A second agent would join within the dispatch of the first; watched this long after the new one is in. */
const NO_SECOND_AGENT_WATCH_MS = 2_000;
/** How often each bot sends a data message: the agent's first packet after a move is at most this late. */
const PING_INTERVAL_MS = 50;
const MOVES = 3;

describe('agents follow their session (real LiveKit server, independent nodes)', () => {
  let stack: RebuildStack;
  const workers: AgentWorker[] = [];
  const bots: RtcNodeBot[] = [];
  const sessionId = `agents-${process.pid}`;
  let stopPings: () => void = () => undefined;

  beforeAll(async () => {
    stack = await startRebuildStack(2, { engine: 'livekit' });
    workers.push(
      ...(await Promise.all(
        stack.nodes.map((node) =>
          startAgentWorker({ url: node.url, apiKey: stack.apiKey, apiSecret: stack.apiSecret, agentName: AGENT_NAME }),
        ),
      )),
    );
  });

  afterAll(async () => {
    stopPings();
    for (const bot of bots) await bot.close();
    for (const worker of workers) await worker.stop();
    await stack?.close();
  });

  /** The participants LiveKit itself lists in the session's room on `url`, agents apart. */
  const roomOn = (url: string) => roomMembers(url, stack.apiKey, stack.apiSecret, sessionId);
  const workerOf = (url: string) =>
    must(
      workers.find((w) => w.url === url),
      `the worker of ${url}`,
    );
  const jobStarts = (worker: AgentWorker) => worker.events({ event: 'job-start', room: sessionId });

  it('a session asking for the echo agent gets it: agent-here, its data echoed, its media received; no model loaded', async () => {
    // An operator's first join chooses the room settings, agents included.
    const first = await RtcNodeBot.join(stack.app.url, sessionId, 'Ann bot', {
      publish: true,
      join: { body: { room: { agents: [AGENT_NAME] } }, headers: OPERATOR_HEADERS },
    });
    bots.push(first);
    bots.push(await RtcNodeBot.join(stack.app.url, sessionId, 'Bob bot', { publish: true }));
    stopPings = startPings(bots, PING_INTERVAL_MS);

    const home = first.joined.url;
    const sessions = await operatorApi<SessionSummary[]>(stack.app.url, '/api/sessions');
    expect(sessions.body.find((s) => s.sessionId === sessionId)?.room.agents).toEqual([AGENT_NAME]);

    const job = await workerOf(home).waitForEvent(
      'the job for the session',
      (e) => e.event === 'job-start' && e.room === sessionId,
      AGENT_TIMEOUT_MS,
    );
    let agent = '';
    await waitFor(
      'one agent in the room, on the session’s node',
      async () => {
        const { agents } = await roomOn(home);
        agent = agents[0] ?? '';
        return agents.length === 1;
      },
      AGENT_TIMEOUT_MS,
      200,
    );
    await waitUntilGreeted(agent, 0, bots, AGENT_TIMEOUT_MS);
    await waitUntilHeard(workerOf(home), must(job.jobId, 'the job id'), bots, sessionId, 0, AGENT_TIMEOUT_MS);
    // Dispatched once, on the session's node only.
    expect(jobStarts(workerOf(home))).toHaveLength(1);
    for (const worker of workers.filter((w) => w.url !== home)) expect(jobStarts(worker)).toHaveLength(0);
    // No model: @livekit/local-inference is left out, so @livekit/agents starts no inference process.
    for (const worker of workers) {
      expect(worker.output()).toContain('local audio EOT disabled');
      expect(worker.childCommands().filter((command) => /inference_proc/.test(command))).toEqual([]);
      expect(worker.childCommands().some((command) => /job_proc_lazy_main/.test(command))).toBe(true);
    }
  });

  it(`SIGKILL of the session's node, ${MOVES} times: the agent is back on the new node, alone, hearing everyone; the old job ended`, async () => {
    const backAfterMs: number[] = [];
    const oldJobEndedAfterMs: number[] = [];
    for (let move = 1; move <= MOVES; move++) {
      const from = must(bots[0], 'the first bot').connections.at(-1)!.url;
      const fromIndex = stack.nodes.findIndex((n) => n.url === from);
      const to = must(
        stack.nodes.find((n) => n.url !== from),
        'the other node',
      ).url;
      const oldJob = must(jobStarts(workerOf(from)).at(-1), 'the job on the session’s node');
      const generation = Math.max(...bots.map((bot) => bot.connections.at(-1)!.generation));
      const startsBefore = jobStarts(workerOf(to)).length;

      const killedAt = Date.now();
      await stack.nodes[fromIndex]!.kill();

      await Promise.all(bots.map((bot) => bot.waitForGeneration(generation + 1, BACK_AFTER_KILL_TIMEOUT_MS)));
      for (const bot of bots) expect(bot.connections.at(-1)!.url).toBe(to);
      const newJob = await workerOf(to).waitForEvent(
        'the job on the new node',
        (e) => e.event === 'job-start' && e.room === sessionId && e.time >= killedAt,
        BACK_AFTER_KILL_TIMEOUT_MS,
      );
      const newJobId = must(newJob.jobId, 'the new job id');
      const firstPacket = await workerOf(to).waitForEvent(
        'the agent’s first packet from a participant on the new node',
        (e) => e.event === 'first-packet' && e.jobId === newJobId && bots.some((bot) => bot.identity === e.from),
        BACK_AFTER_KILL_TIMEOUT_MS,
      );
      backAfterMs.push(firstPacket.time - killedAt);

      await waitUntilHeard(workerOf(to), newJobId, bots, sessionId, killedAt, BACK_AFTER_KILL_TIMEOUT_MS);
      let agent = '';
      await waitFor(
        'the agent in the new room',
        async () => {
          const { agents } = await roomOn(to);
          agent = agents[0] ?? '';
          return agents.length > 0;
        },
        BACK_AFTER_KILL_TIMEOUT_MS,
        200,
      );
      await waitUntilGreeted(agent, killedAt, bots, BACK_AFTER_KILL_TIMEOUT_MS);

      const oldJobEnd: AgentEvent = await workerOf(from).waitForEvent(
        'the old job’s end',
        (e) => e.event === 'job-end' && e.jobId === oldJob.jobId,
        OLD_JOB_END_LIMIT_MS,
      );
      oldJobEndedAfterMs.push(oldJobEnd.time - killedAt);
      expect(oldJobEnd.reason).toMatch(/refuses connections: gone/);

      // Exactly one agent, the new job's, in the new room, and it stays alone; one job per move.
      await new Promise((resolve) => setTimeout(resolve, NO_SECOND_AGENT_WATCH_MS));
      const room = await roomOn(to);
      expect(room.agents).toEqual([agent]);
      expect(room.others.sort()).toEqual(bots.map((bot) => bot.identity).sort());
      expect(jobStarts(workerOf(to))).toHaveLength(startsBefore + 1);
      for (const worker of workers) {
        const started = jobStarts(worker).map((e) => e.jobId);
        const ended = worker.events({ event: 'job-end', room: sessionId }).map((e) => e.jobId);
        // Every job but the one running now has ended: no zombie.
        expect(started.filter((id) => !ended.includes(id))).toEqual(worker === workerOf(to) ? [newJobId] : []);
      }
      console.log(
        `agents (move ${move}): the agent's first packet from a participant on the new node ${backAfterMs.at(-1)} ms ` +
          `after SIGKILL (${firstPacket.kind} from ${firstPacket.from}); the old job ended after ${oldJobEndedAfterMs.at(-1)} ms`,
      );
      expect(backAfterMs.at(-1)).toBeLessThan(AGENT_BACK_LIMIT_MS);

      if (move < MOVES) {
        // The dead node back on its URL, and its worker registered with it again, before the next kill.
        const restartedAt = Date.now();
        await stack.restartNode(fromIndex);
        await workerOf(from).waitForEvent(
          'the worker registered again with its restarted node',
          (e) => e.event === 'worker-registered' && e.time >= restartedAt,
          AGENT_TIMEOUT_MS,
        );
        await waitFor(
          'the backend seeing the node up again',
          async () => {
            const nodes = await operatorApi<Array<{ url: string; status: string }>>(stack.app.url, '/api/nodes');
            return nodes.body.some((n) => n.url === from && n.status === 'up');
          },
          AGENT_TIMEOUT_MS,
        );
      }
    }
    console.log(
      `agents: SIGKILL -> the agent's first packet on the new node, ${MOVES} moves: ${backAfterMs.join(', ')} ms ` +
        `(p95 ${p95(backAfterMs)} ms, target <= 2000 ms); old job ended after ${oldJobEndedAfterMs.join(', ')} ms`,
    );
  }, 300_000);

  it('a token the backend mints creates its room with the agents where none exists: the path when a participant reaches the new node before the backend’s CreateRoom', async () => {
    const url = must(bots[0], 'the first bot').connections.at(-1)!.url;
    const tokens = new TokenService(parseConfig(['--api-key', stack.apiKey, '--secret', stack.apiSecret], {}));
    const participant: ParticipantRecord = {
      identity: 'token-path-bot',
      name: 'Token path bot',
      metadata: '',
      grants: DEFAULT_GRANTS,
      rejoinKeyHash: '',
      state: 'invited',
      invitedAt: Date.now(),
    };
    const rooms = { withAgents: `${sessionId}-token-agents`, without: `${sessionId}-token-none` };
    const joined: Room[] = [];
    try {
      for (const [roomName, agents] of [
        [rooms.withAgents, [AGENT_NAME]],
        [rooms.without, []],
      ] as const) {
        const room = new Room();
        joined.push(room);
        await room.connect(
          url,
          await tokens.mint(roomName, participant, { ...DEFAULT_ROOM_SETTINGS, agents: [...agents] }),
          { autoSubscribe: false, dynacast: false },
        );
      }
      await workerOf(url).waitForEvent(
        'the job in the room the token created',
        (e) => e.event === 'job-start' && e.room === rooms.withAgents,
        AGENT_TIMEOUT_MS,
      );
      await new Promise((resolve) => setTimeout(resolve, NO_SECOND_AGENT_WATCH_MS));
      // Explicit dispatch only: a room created with no agents in its configuration gets none.
      for (const worker of workers) expect(worker.events({ event: 'job-start', room: rooms.without })).toEqual([]);
    } finally {
      for (const room of joined) await room.disconnect().catch(() => undefined);
    }
  });
});

afterAll(async () => {
  // The Rust core's threads would keep Jest's process alive.
  await dispose();
});
