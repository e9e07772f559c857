// What the agent specs and bench:agents check of the echo agent (tools/agent-worker) in a session of
// @livekit/rtc-node bots: who LiveKit lists in the room, whether the agent's job received each bot's
// data, video and audio, and whether each bot got the agent's hello and an echo of its own data.
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import { AGENT_TOPIC, ECHO_TOPIC, agentHere } from '../../tools/agent-worker/src/protocol';
import type { AgentWorker } from './agent-worker';
import type { RtcNodeBot } from './rtc-node-bot';

/** The participants LiveKit itself lists in `room` through `url` (a node, or a cluster's URL), agents apart. */
export async function roomMembers(
  url: string,
  apiKey: string,
  apiSecret: string,
  room: string,
): Promise<{ agents: string[]; others: string[] }> {
  const client = new RoomServiceClient(url.replace(/^ws/, 'http'), apiKey, apiSecret);
  const participants = await client.listParticipants(room);
  // livekit-server-sdk has its own copy of @livekit/protocol: the same enum, compared as numbers.
  const isAgent = (kind: number) => kind === (ParticipantInfo_Kind.AGENT as number);
  return {
    agents: participants.filter((p) => isAgent(p.kind)).map((p) => p.identity),
    others: participants.filter((p) => !isAgent(p.kind)).map((p) => p.identity),
  };
}

/** What of every bot's data, video and audio has not reached the job `jobId` yet (`<identity>/<kind>`). */
export function unheard(worker: AgentWorker, jobId: string, bots: RtcNodeBot[]): string[] {
  const firsts = worker.events({ event: 'first-packet', jobId });
  return bots.flatMap((bot) =>
    (['data', 'video', 'audio'] as const)
      .filter((kind) => !firsts.some((e) => e.from === bot.identity && e.kind === kind))
      .map((kind) => `${bot.identity}/${kind}`),
  );
}

/** Every bot's data, video and audio reached the job `jobId`. */
export function heardEveryone(worker: AgentWorker, jobId: string, bots: RtcNodeBot[]): boolean {
  return unheard(worker, jobId, bots).length === 0;
}

/**
 * Waits until the job `jobId` has received every bot's data, video and audio. A timeout names what is
 * missing, the room's jobs since `since` (starts, ends and why) and each bot's connects and errors:
 * what a failure on a CI machine, whose worker output is not kept, needs to be read.
 */
export async function waitUntilHeard(
  worker: AgentWorker,
  jobId: string,
  bots: RtcNodeBot[],
  room: string,
  since: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!heardEveryone(worker, jobId, bots)) {
    if (Date.now() > deadline) {
      const jobs = worker
        .events({ room })
        .filter((e) => e.time >= since && ['job-start', 'job-connected', 'job-end', 'node-lost'].includes(e.event))
        .map((e) => `+${e.time - since} ms ${e.event} ${e.jobId ?? ''} ${e.reason ?? e.why ?? ''}`.trim());
      const connects = bots.map(
        (bot) =>
          `${bot.identity}: generations ${bot.connections.map((c) => c.generation).join(',')}, ` +
          `agents seen [${bot.agentsInRoom().join(', ')}], errors [${bot.problems.join('; ')}]`,
      );
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for job ${jobId} to receive each bot's data, video and audio: ` +
          `missing ${unheard(worker, jobId, bots).join(', ')}; jobs: ${jobs.join(' | ')}; bots: ${connects.join(' | ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What each bot still misses of `agent` since `since`: its hello (`agent-here <agent>`), an echo of its own pings. */
export function greetingGaps(agent: string, since: number, bots: RtcNodeBot[]): string[] {
  return bots.flatMap((bot) => {
    const recent = bot.received.data.filter((d) => d.at >= since);
    // Attributed by LiveKit, or not yet (sent before LiveKit announced the agent): the hello names it.
    const greeted = recent.some(
      (d) => (d.from === agent || d.from === '') && d.topic === AGENT_TOPIC && d.text === agentHere(agent),
    );
    const echoed = recent.some(
      (d) => d.from === agent && d.topic === ECHO_TOPIC && d.text.startsWith(`ping ${bot.identity} `),
    );
    const echoes = recent.filter((d) => d.topic === ECHO_TOPIC);
    return [
      ...(greeted ? [] : [`${bot.identity} not greeted (hellos: ${helloSenders(recent)})`]),
      ...(echoed
        ? []
        : [
            `${bot.identity} not echoed (${echoes.length} echoes from [${[...new Set(echoes.map((d) => d.from))].join(', ')}])`,
          ]),
    ];
  });
}

const helloSenders = (data: RtcNodeBot['received']['data']): string =>
  data
    .filter((d) => d.topic === AGENT_TOPIC)
    .map((d) => `${d.from || '?'}: ${d.text}`)
    .join(', ') || 'none';

/** Each bot got `agent-here <agent>` from `agent` and an echo of one of its own pings (`ping <identity> n`), both after `since`. */
export function greetedAndEchoed(agent: string, since: number, bots: RtcNodeBot[]): boolean {
  return greetingGaps(agent, since, bots).length === 0;
}

/** Waits until greetedAndEchoed and whatever `more` still misses is nothing; a timeout names what each bot misses. */
export async function waitUntilGreeted(
  agent: string,
  since: number,
  bots: RtcNodeBot[],
  timeoutMs: number,
  more: () => string[] = () => [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const gaps = () => [...greetingGaps(agent, since, bots), ...more()];
  while (gaps().length > 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for each bot greeted and echoed by ${agent}: ${gaps().join('; ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Each bot sends `ping <identity> n` every `intervalMs` (reliable): what the agent echoes, and its first packet after a move. */
export function startPings(bots: RtcNodeBot[], intervalMs: number): () => void {
  let sent = 0;
  const timer = setInterval(() => {
    for (const bot of bots) bot.sendData(`ping ${bot.identity} ${++sent}`, true).catch(() => undefined);
  }, intervalMs);
  return () => clearInterval(timer);
}

/** Nearest-rank p95 of a few figures. */
export function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}
