// The echo agent: a real LiveKit agent (@livekit/agents) that loads no model. It joins its room,
// subscribes to everyone, says `agent-here` (reliably) when it starts and whenever someone joins, and
// sends every data message it receives back to the room on the `echo` topic. One log line per job start
// and end (with the room), and one per participant and kind for the first packet it receives from them:
// what the tests count and time.
import { type JobContext, defineAgent, log } from '@livekit/agents';
import {
  AudioStream,
  DataPacketKind,
  type RemoteParticipant,
  type RemoteTrack,
  RoomEvent,
  TrackKind,
  VideoStream,
} from '@livekit/rtc-node';
import { watchForLostNode } from './node-loss.js';
import { AGENT_HERE, AGENT_STATE_ATTRIBUTE, AGENT_TOPIC, ECHO_TOPIC } from './protocol.js';

type PacketKind = 'data' | 'audio' | 'video';

export default defineAgent({
  entry: async (ctx: JobContext) => {
    const room = ctx.room;
    const roomName = ctx.job.room?.name ?? '';
    const logger = log().child({ room: roomName, jobId: ctx.job.id, agentName: ctx.job.agentName });
    const startedAt = Date.now();
    const packets = new Map<string, number>();
    const first = new Set<string>();
    let endReason: string | undefined;

    const received = (from: string, kind: PacketKind) => {
      const key = `${from}/${kind}`;
      packets.set(key, (packets.get(key) ?? 0) + 1);
      if (first.has(key)) return;
      first.add(key);
      logger.info({ event: 'first-packet', from, kind }, `first ${kind} from ${from} in room ${roomName}`);
    };

    const sayHere = () => {
      room.localParticipant
        ?.publishData(new TextEncoder().encode(AGENT_HERE), { reliable: true, topic: AGENT_TOPIC })
        .catch((error: unknown) => logger.warn({ error }, 'could not say agent-here'));
    };

    const consume = (track: RemoteTrack, from: RemoteParticipant) => {
      const kind: PacketKind = track.kind === TrackKind.KIND_VIDEO ? 'video' : 'audio';
      const stream = kind === 'video' ? new VideoStream(track) : new AudioStream(track);
      void (async () => {
        for await (const _frame of stream) received(from.identity, kind);
      })().catch(() => undefined);
    };

    room.on(RoomEvent.DataReceived, (payload, participant, kind, topic) => {
      // A sender the Room does not know yet (a participant publishing no track is announced up to 3 s
      // late) is echoed all the same, and counted once it is known.
      if (participant) received(participant.identity, 'data');
      // Another agent's hello or echo is not echoed: two echo agents would bounce packets forever.
      if (topic === ECHO_TOPIC || topic === AGENT_TOPIC) return;
      room.localParticipant
        ?.publishData(payload, { reliable: kind !== DataPacketKind.KIND_LOSSY, topic: ECHO_TOPIC })
        .catch((error: unknown) => logger.warn({ error }, 'could not echo'));
    });
    room.on(RoomEvent.TrackSubscribed, (track, _publication, participant) => consume(track, participant));
    room.on(RoomEvent.ParticipantConnected, () => sayHere());

    ctx.addShutdownCallback(async () => {
      logger.info(
        {
          event: 'job-end',
          reason: endReason ?? 'shut down',
          livedMs: Date.now() - startedAt,
          packets: Object.fromEntries(packets),
        },
        `job ended in room ${roomName}: ${endReason ?? 'shut down'}`,
      );
    });
    room.on(RoomEvent.Disconnected, (reason) => {
      endReason ??= `room disconnected (reason ${String(reason)})`;
    });

    logger.info({ event: 'job-start', url: ctx.info.url }, `job started in room ${roomName}`);
    const connectStarted = performance.now();
    await ctx.connect();
    logger.info(
      {
        event: 'job-connected',
        connectMs: Math.round(performance.now() - connectStarted),
        participants: [...room.remoteParticipants.keys()],
      },
      `joined room ${roomName} as ${room.localParticipant?.identity ?? '?'}`,
    );
    // LiveKit announces a participant that publishes no track only with its next batch of updates (up
    // to 3 s: subscriberUpdateInterval, pkg/rtc/room.go), but an attribute change at once
    // (onParticipantUpdate): until then the others cannot tell who sends the agent's packets. Voice
    // agents set this attribute too.
    await room.localParticipant?.setAttributes({ [AGENT_STATE_ATTRIBUTE]: 'listening' });
    sayHere();

    // Independent nodes: the job's URL is its room's node. In LiveKit's cluster it is the cluster's URL,
    // which answers whichever node died: there the node to ask is the room's own (README, Agents).
    watchForLostNode(room, ctx.info.url, (why) => {
      endReason = why;
      logger.warn({ event: 'node-lost', why }, `room ${roomName}: ${why}; ending the job`);
      ctx.shutdown(why);
    });
  },
});
