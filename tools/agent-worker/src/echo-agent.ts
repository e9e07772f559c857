// The echo agent: a real LiveKit agent (@livekit/agents) that loads no model. It joins its room,
// subscribes to everyone, says `agent-here` (reliably) when it starts and whenever someone joins, and
// sends every data message it receives back to the room on the `echo` topic. One log line per job start
// and end (with the room), and one per participant and kind for the first packet it receives from them:
// what the tests count and time.
import { type JobContext, defineAgent, log } from '@livekit/agents';
import {
  AudioSource,
  AudioStream,
  DataPacketKind,
  LocalAudioTrack,
  type RemoteParticipant,
  type RemoteTrack,
  RoomEvent,
  TrackKind,
  VideoStream,
} from '@livekit/rtc-node';
import { clusterJobSettings } from './job-settings.js';
import { LiveKitRegistry } from './livekit-registry.js';
import { nativeLogCapture, startNativeSideWithoutLogCapture } from './native-log-capture.js';
import { watchJobNode, watchRoomNode } from './node-loss.js';
import { AGENT_STATE_ATTRIBUTE, AGENT_TOPIC, ECHO_TOPIC, agentHere } from './protocol.js';

type PacketKind = 'data' | 'audio' | 'video';

// Before the prewarm below starts rtc-node's native side: see native-log-capture.ts.
startNativeSideWithoutLogCapture();

export default defineAgent({
  // While the process waits for a job: starts rtc-node's native side (its FFI server, libwebrtc's code
  // loaded). libwebrtc's peer connection factory is not kept: the Rust SDK holds it only while something
  // uses it (LkRuntime), so the job's connect builds it again (15-50 ms here). And Node's fetch, which the
  // node watch uses from a cluster job's start: its first call loads undici (~35 ms of CPU).
  prewarm: async () => {
    const started = performance.now();
    await LocalAudioTrack.createAudioTrack('prewarm', new AudioSource(48_000, 1)).close();
    await (await fetch('data:,')).text();
    const capture = nativeLogCapture();
    if (capture === undefined)
      log().warn(
        { event: 'native-log-capture' },
        "rtc-node's native side did not start through native-log-capture.ts: its logs may be captured, slowing each connect",
      );
    log().debug({ event: 'prewarmed', ms: Math.round(performance.now() - started), capture }, 'WebRTC started');
  },
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
        ?.publishData(new TextEncoder().encode(agentHere(room.localParticipant.identity)), {
          reliable: true,
          topic: AGENT_TOPIC,
        })
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

    // LiveKit's cluster: the worker registered with one member, but the job goes through the cluster's
    // URL, so that it can resume on any member while its room's node lives (agents-js connects a job to
    // its worker's URL, as LiveKit's assignment names none).
    const cluster = clusterJobSettings();
    const registeredWith = ctx.info.url;
    if (cluster) ctx.info.url = cluster.url;
    logger.info({ event: 'job-start', url: ctx.info.url, registeredWith }, `job started in room ${roomName}`);

    // Watched from the job's start, before anything that waits on its node: a node that dies while the
    // job connects or announces itself would otherwise hold that wait until the SDK resumes the job into
    // the room re-created elsewhere, whose node the watch would then take for the job's own (seen when
    // a node was killed right after its job joined: the old job stayed, beside the new one).
    const endJob = (why: string) => {
      endReason = why;
      logger.warn({ event: 'node-lost', why }, `room ${roomName}: ${why}; ending the job`);
      ctx.shutdown(why);
    };
    if (cluster) {
      // The cluster's URL answers whichever node died: the node to ask is the room's own.
      const registry = new LiveKitRegistry(cluster.livekitRedis);
      ctx.addShutdownCallback(async () => registry.close());
      watchRoomNode(room, roomName, registry, cluster.nodePort, endJob, (message) =>
        logger.warn({ event: 'registry-unreadable' }, message),
      );
    } else watchJobNode(room, ctx.info.url, endJob);
    const connectStarted = performance.now();
    const cpuBefore = process.cpuUsage();
    await ctx.connect();
    const cpu = process.cpuUsage(cpuBefore);
    logger.info(
      {
        event: 'job-connected',
        connectMs: Math.round(performance.now() - connectStarted),
        // The process's CPU time (every thread) over the connect: what a busy machine stretches.
        connectCpuMs: Math.round((cpu.user + cpu.system) / 1000),
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
  },
});
