import type { Room } from 'livekit-client';

/** How often the current Room's peer connections are looked at (ICE state, and bytes received). */
export const MEDIA_PATH_CHECK_MS = 250;
/**
 * A peer connection that was receiving and then received nothing for this long has lost its path to the
 * node. While we publish, the node sends feedback on our publisher connection all the time (LiveKit:
 * transport-wide congestion feedback every ~100 ms; the dev node: a receiver report per track every
 * 0.5-1.5 s), and while others publish, their media arrives on the subscriber connection every ~20 ms.
 * 3 s rather than 2: a dev node (werift, one JS thread) busy with others' DTLS handshakes fell silent for
 * 2 s here while its path was fine.
 * Chromium's own ICE calls the path `disconnected` only once its consent checks go unanswered for ~5 s
 * (seen here: 5.7-8 s), and livekit-client acts on `failed`, ~30 s.
 */
export const MEDIA_SILENCE_MS = 3_000;
/**
 * While the media path stays dead after a report (the backend kept us here: not enough of the session
 * reported yet), it is reported again this often, so a later quorum still counts this participant.
 */
export const MEDIA_PATH_REPEAT_MS = 3_000;

type IceState = RTCIceConnectionState;

export interface TransportReading {
  name: string;
  ice: IceState | undefined;
  /** Every byte its ICE transport received so far (RTP, RTCP, STUN, DTLS); undefined before it exists. */
  bytesReceived: number | undefined;
  /**
   * Whether the node has a reason to send on it all the time: we publish an unmuted track (publisher), or
   * we are subscribed to someone's unmuted track (subscriber). A flow that ended for a reason is no silence.
   */
  expected: boolean;
}

/** What the watcher reads of a Room: its peer connections (livekit-client's `engine.pcManager`). */
export interface MediaPathSource {
  transports(): Promise<TransportReading[]>;
}

export function roomTransports(room: Room): MediaPathSource {
  const read = async (
    name: string,
    transport: PCTransportLike | undefined,
    expected: boolean,
  ): Promise<TransportReading> => {
    const ice = transport?.getICEConnectionState();
    let bytesReceived: number | undefined;
    const report = await transport?.getStats()?.catch(() => undefined);
    report?.forEach((stats: { type?: string; bytesReceived?: number }) => {
      if (stats.type === 'transport' && typeof stats.bytesReceived === 'number')
        bytesReceived = (bytesReceived ?? 0) + stats.bytesReceived;
    });
    return { name, ice, bytesReceived, expected };
  };
  return {
    transports: async () => {
      const manager = room.engine?.pcManager;
      const publishing = [...room.localParticipant.trackPublications.values()].some((p) => p.track && !p.isMuted);
      const subscribed = [...room.remoteParticipants.values()].some((participant) =>
        [...participant.trackPublications.values()].some((p) => p.isSubscribed && !p.isMuted),
      );
      return Promise.all([
        read('publisher', manager?.publisher, publishing),
        read('subscriber', manager?.subscriber, subscribed),
      ]);
    },
  };
}

interface PCTransportLike {
  getICEConnectionState(): IceState;
  getStats(): Promise<RTCStatsReport> | undefined;
}

const CONNECTED: ReadonlySet<IceState | undefined> = new Set(['connected', 'completed']);
const LOST: ReadonlySet<IceState | undefined> = new Set(['disconnected', 'failed']);

interface TransportTrack {
  wasConnected: boolean;
  bytes?: number;
  /** When its received bytes last grew; undefined until they first do. */
  lastGrewAt?: number;
}

/**
 * Watches a connected Room's media path, which can die while the signal WebSocket is fine: a node whose
 * UDP is dropped still answers its signal and its HTTP probes. The path is lost when every peer connection
 * that was receiving has received nothing for MEDIA_SILENCE_MS, or when one that was connected turns ICE
 * `disconnected` (a participant that only subscribes, to a node that sends nothing). Silence on every
 * connection, not one: another participant's bad network stops their media on our subscriber connection,
 * while the node's feedback on our publisher connection goes on. `onLost` is called at once, then every
 * MEDIA_PATH_REPEAT_MS while the path stays dead; a path that comes back re-arms it.
 * Returns a stop function; it also stops by itself once `isLive()` answers false.
 */
export function watchMediaPath(
  source: MediaPathSource,
  isLive: () => boolean,
  onLost: (why: string) => void,
  now: () => number = Date.now,
): () => void {
  const tracks = new Map<string, TransportTrack>();
  let lastReportAt: number | undefined;
  let busy = false;
  let stopped = false;
  const lostWhy = (readings: TransportReading[], at: number): string | undefined => {
    const receiving: string[] = [];
    let silent = 0;
    let iceLost: string | undefined;
    for (const { name, ice, bytesReceived, expected } of readings) {
      const track = tracks.get(name) ?? { wasConnected: false };
      tracks.set(name, track);
      if (CONNECTED.has(ice)) track.wasConnected = true;
      else if (track.wasConnected && LOST.has(ice)) iceLost ??= `the ${name} connection is ${ice}`;
      if (bytesReceived !== undefined) {
        if (track.bytes !== undefined && bytesReceived > track.bytes) track.lastGrewAt = at;
        track.bytes = bytesReceived;
      }
      // A connection counts again once something arrives on it after it became expected.
      if (!expected) track.lastGrewAt = undefined;
      if (track.lastGrewAt === undefined) continue;
      receiving.push(name);
      if (at - track.lastGrewAt >= MEDIA_SILENCE_MS) silent++;
    }
    if (receiving.length > 0 && silent === receiving.length)
      return `nothing received for ${MEDIA_SILENCE_MS / 1000} s on the ${receiving.join(' and ')} connection${receiving.length > 1 ? 's' : ''}`;
    return iceLost;
  };
  const check = async () => {
    if (!isLive()) return stop();
    if (busy) return;
    busy = true;
    try {
      const readings = await source.transports();
      if (stopped || !isLive()) return;
      const at = now();
      const why = lostWhy(readings, at);
      if (!why) {
        lastReportAt = undefined;
        return;
      }
      if (lastReportAt !== undefined && at - lastReportAt < MEDIA_PATH_REPEAT_MS) return;
      lastReportAt = at;
      onLost(why);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void check(), MEDIA_PATH_CHECK_MS);
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
