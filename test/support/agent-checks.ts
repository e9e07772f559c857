// What the agent specs and bench:agents check of the echo agent (tools/agent-worker) in a session of
// @livekit/rtc-node bots: who LiveKit lists in the room, whether the agent's job received each bot's
// data, video and audio, and whether each bot got the agent's hello and an echo of its own data.
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import { AGENT_HERE, AGENT_TOPIC, ECHO_TOPIC } from '../../tools/agent-worker/src/protocol';
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

/** Every bot's data, video and audio reached the job `jobId`. */
export function heardEveryone(worker: AgentWorker, jobId: string, bots: RtcNodeBot[]): boolean {
  const firsts = worker.events({ event: 'first-packet', jobId });
  return bots.every((bot) =>
    (['data', 'video', 'audio'] as const).every((kind) =>
      firsts.some((e) => e.from === bot.identity && e.kind === kind),
    ),
  );
}

/** Each bot got `agent-here` from `agent` and an echo of one of its own pings (`ping <identity> n`), both after `since`. */
export function greetedAndEchoed(agent: string, since: number, bots: RtcNodeBot[]): boolean {
  return bots.every(
    (bot) =>
      bot.received.data.some(
        (d) => d.from === agent && d.topic === AGENT_TOPIC && d.text === AGENT_HERE && d.at >= since,
      ) &&
      bot.received.data.some(
        (d) =>
          d.from === agent && d.topic === ECHO_TOPIC && d.text.startsWith(`ping ${bot.identity} `) && d.at >= since,
      ),
  );
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
