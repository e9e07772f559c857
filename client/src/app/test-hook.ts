import { Track } from 'livekit-client';
import type {
  LogEntry,
  MoveTiming,
  RemoteVideoStats,
  ResilientRoom,
  ResilientRoomState,
  SendOptions,
} from '@session-rebuilder/resilient-room';

/** One event the ResilientRoom emitted, as the page's app heard it (epoch ms). */
export interface HookEvent {
  at: number;
  name: 'participantConnected' | 'participantDisconnected' | 'trackSubscribed' | 'trackUnsubscribed' | 'roomChanged';
  identity?: string;
  /** Tracks: their source (camera, screen_share, unknown...) and name. */
  source?: string;
  trackName?: string;
}

/** One data message received (any topic), as the page's app got it. */
export interface HookMessage {
  at: number;
  from?: string;
  topic?: string;
  text?: string;
  bytes: number;
  reliable: boolean;
  delayed: boolean;
}

export interface HookRecords {
  events: HookEvent[];
  received: HookMessage[];
}

/** framesDecoded of one remote video track, keyed by who published it, its source and its name. */
export interface TrackFrames {
  identity: string;
  source: string;
  trackName: string;
  framesDecoded: number;
}

/** One remote track publication as the current Room holds it. */
export interface RemotePublication {
  identity: string;
  source: string;
  muted: boolean;
}

/**
 * `window.__sessionRebuilder`, set only when the page is opened with `?test-hook=1`: a small, stable
 * view for browser tests, the benchmarks and users' own automation (read-only, but for send() and
 * publishTestPattern(), which act as the app's own code would). Every instant is epoch ms.
 */
export interface SessionRebuilderHook {
  readonly state: ResilientRoomState | 'idle';
  readonly stateSince: number | undefined;
  readonly identity: string | undefined;
  readonly sessionId: string | undefined;
  readonly url: string | undefined;
  readonly generation: number | undefined;
  readonly moves: MoveTiming[];
  readonly log: LogEntry[];
  /** The ResilientRoom's events as the app heard them, in order. */
  readonly events: HookEvent[];
  /** Data messages received, in order of delivery. */
  readonly received: HookMessage[];
  /** Who receives this page's reliable messages, and how many wait for acknowledgement. */
  readonly dataPeers: string[];
  readonly queuedMessages: number;
  readonly screenShareEnabled: boolean;
  /** Every remote track publication on the current node: who, which source, and its mute state. */
  readonly remotePublications: RemotePublication[];
  /** inbound-rtp video framesDecoded per remote identity on the current node (cameras). */
  framesDecoded(): Promise<Record<string, number>>;
  /** framesDecoded of every remote video track (camera, screen share, app tracks) on the current node. */
  trackFrames(): Promise<TrackFrames[]>;
  /** The inbound-rtp details behind it (packets, keyframes, PLIs), for diagnosing a test failure. */
  videoStats(): Promise<RemoteVideoStats[]>;
  /**
   * The pauses between growths of the bytes the publisher connection received, longest first, sampled
   * every 50 ms for `forMs`: how steadily the node talks back to a publisher (the media-path watcher's
   * flow, whose quick rule waits twice its longest pause but one).
   */
  publisherPauses(forMs: number): Promise<number[]>;
  /** ResilientRoom.send(), as an app calls it; resolves to the error's code and message when it rejects. */
  send(payload: string, options?: SendOptions): Promise<{ ok: true } | { ok: false; code?: string; message: string }>;
  /** Publishes an animated canvas (an app's own track) through ResilientRoom.publishTrack(). */
  publishTestPattern(name: string): Promise<void>;
}

declare global {
  interface Window {
    __sessionRebuilder?: SessionRebuilderHook;
  }
}

/** Records what an app written against the ResilientRoom's events would see. */
export function recordEvents(room: ResilientRoom, records: HookRecords): void {
  const at = () => Date.now();
  room.on('participantConnected', (p) =>
    records.events.push({ at: at(), name: 'participantConnected', identity: p.identity }),
  );
  room.on('participantDisconnected', (p) =>
    records.events.push({ at: at(), name: 'participantDisconnected', identity: p.identity }),
  );
  for (const name of ['trackSubscribed', 'trackUnsubscribed'] as const) {
    room.on(name, (track, publication, participant) =>
      records.events.push({
        at: at(),
        name,
        identity: participant.identity,
        source: track.source,
        trackName: publication.trackName,
      }),
    );
  }
  room.on('roomChanged', () => records.events.push({ at: at(), name: 'roomChanged' }));
  room.on('dataReceived', (message) =>
    records.received.push({
      at: at(),
      from: message.from,
      topic: message.topic,
      text: message.text,
      bytes: message.payload.byteLength,
      reliable: message.reliable,
      delayed: message.delayed,
    }),
  );
}

export function installTestHook(getRoom: () => ResilientRoom | undefined, log: LogEntry[], records: HookRecords): void {
  window.__sessionRebuilder = {
    get state() {
      return getRoom()?.state ?? 'idle';
    },
    get stateSince() {
      return getRoom()?.stateChange.since;
    },
    get identity() {
      return getRoom()?.identity;
    },
    get sessionId() {
      return getRoom()?.sessionId;
    },
    get url() {
      return getRoom()?.url;
    },
    get generation() {
      return getRoom()?.generation;
    },
    get moves() {
      // Copies, so a reader never sees a move change under it.
      return (getRoom()?.moves ?? []).map((move) => ({ ...move, expectedRemotes: [...move.expectedRemotes] }));
    },
    get log() {
      return [...log];
    },
    get events() {
      return records.events.map((event) => ({ ...event }));
    },
    get received() {
      return records.received.map((message) => ({ ...message }));
    },
    get dataPeers() {
      return getRoom()?.dataPeers ?? [];
    },
    get queuedMessages() {
      return getRoom()?.queuedMessages ?? 0;
    },
    get screenShareEnabled() {
      return getRoom()?.isScreenShareEnabled ?? false;
    },
    get remotePublications() {
      return [...(getRoom()?.room?.remoteParticipants.values() ?? [])].flatMap((participant) =>
        [...participant.trackPublications.values()].map((publication) => ({
          identity: participant.identity,
          source: publication.source,
          muted: publication.isMuted,
        })),
      );
    },
    framesDecoded: () => getRoom()?.framesDecoded() ?? Promise.resolve({}),
    trackFrames: () => trackFrames(getRoom()),
    videoStats: () => getRoom()?.videoStats() ?? Promise.resolve([]),
    publisherPauses: (forMs) => publisherPauses(getRoom(), forMs),
    send: async (payload, options) => {
      const room = getRoom();
      if (!room) return { ok: false, message: 'not joined' };
      try {
        await room.send(payload, options);
        return { ok: true };
      } catch (err) {
        return { ok: false, code: (err as { code?: string }).code, message: (err as Error).message };
      }
    },
    publishTestPattern: async (name) => {
      const room = getRoom();
      if (!room) throw new Error('not joined');
      await room.publishTrack(testPattern(), { name, source: Track.Source.Unknown, simulcast: false });
    },
  };
}

async function publisherPauses(room: ResilientRoom | undefined, forMs: number): Promise<number[]> {
  const received = async () => {
    let bytes = 0;
    const report = await room?.room?.engine?.pcManager?.publisher?.getStats()?.catch(() => undefined);
    report?.forEach((stat: { type?: string; bytesReceived?: number }) => {
      if (stat.type === 'transport') bytes += stat.bytesReceived ?? 0;
    });
    return bytes;
  };
  const started = performance.now();
  let last = await received();
  let grewAt: number | undefined;
  const pauses: number[] = [];
  while (performance.now() - started < forMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const bytes = await received();
    const at = performance.now();
    if (bytes > last) {
      if (grewAt !== undefined) pauses.push(Math.round(at - grewAt));
      grewAt = at;
    }
    last = bytes;
  }
  return pauses.sort((a, b) => b - a);
}

async function trackFrames(room: ResilientRoom | undefined): Promise<TrackFrames[]> {
  const rows: TrackFrames[] = [];
  for (const participant of room?.room?.remoteParticipants.values() ?? []) {
    for (const publication of participant.videoTrackPublications.values()) {
      let framesDecoded = 0;
      const report = await publication.track?.receiver?.getStats().catch(() => undefined);
      report?.forEach((stat: { type?: string; kind?: string; framesDecoded?: number }) => {
        if (stat.type === 'inbound-rtp' && stat.kind === 'video')
          framesDecoded = Math.max(framesDecoded, stat.framesDecoded ?? 0);
      });
      rows.push({
        identity: participant.identity,
        source: publication.source,
        trackName: publication.trackName,
        framesDecoded,
      });
    }
  }
  return rows;
}

/** 320x180 at 15 fps, a moving bar and a counter: frames that change, so the encoder sends them. */
function testPattern(): MediaStreamTrack {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 180;
  const context = canvas.getContext('2d')!;
  let frame = 0;
  setInterval(() => {
    frame++;
    context.fillStyle = '#123';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = '#4f8cff';
    context.fillRect((frame * 4) % canvas.width, 0, 40, canvas.height);
    context.fillStyle = '#fff';
    context.font = '24px sans-serif';
    context.fillText(`app track ${frame}`, 20, 100);
  }, 1000 / 15);
  return canvas.captureStream(15).getVideoTracks()[0];
}
