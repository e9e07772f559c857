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
/**
 * The quick rule: a path silent for this long at least (and for twice the longest pause but one its flow
 * showed lately, see QUICK_MIN_PAUSES), while the node still answers HTTP, is reported without waiting for
 * MEDIA_SILENCE_MS. A busy node is silent on HTTP too, and media comes back with its answer; a node whose
 * UDP is dropped answers at once and stays silent. So the node is asked (QUICK_ASK_MS), and the path must
 * still be silent a check after its answer. A flow that pauses by nature (the dev node's receiver
 * reports, 0.5-1.5 s apart, are all a publisher alone hears) gets twice its pause, and the 3 s rule where
 * that is longer.
 */
export const QUICK_SILENCE_MS = 1_000;
/** The node is asked once the path has been silent this long, so that its answer is in when QUICK_SILENCE_MS comes. */
export const QUICK_ASK_MS = 500;
/**
 * How many pauses a flow must have shown for its pauses to mean something (media: about a second of
 * checks; the dev node's receiver reports: 1.5-4.5 s). The quick rule needs one such flow among the silent
 * ones: a Room connected a moment ago, or a publisher alone hearing sparse feedback, gets the 3 s rule.
 */
export const QUICK_MIN_PAUSES = 3;
/** How far back a flow's pauses are remembered. */
export const PAUSE_MEMORY_MS = 10_000;
/** The node's HTTP answer is waited for this long; no answer leaves it to the backend's probes and the 3 s rule. */
export const NODE_ANSWER_TIMEOUT_MS = 700;

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
  /** Whether the node answers HTTP now (any answer); without it, only the 3 s rule applies. */
  nodeAnswers?(): Promise<boolean>;
}

/**
 * The HTTP origin of a ws:// or wss:// node URL, which LiveKit (and the dev node) answer `GET /` on: asked
 * with `no-cors`, so any answer counts and none is read (the sample app's CSP allows the nodes' origins).
 */
export function nodeAnswers(
  nodeUrl: () => string | undefined,
  timeoutMs = NODE_ANSWER_TIMEOUT_MS,
): () => Promise<boolean> {
  return async () => {
    let origin: string;
    try {
      origin = new URL(nodeUrl() ?? '').origin.replace(/^ws/, 'http');
    } catch {
      return false;
    }
    try {
      await fetch(`${origin}/`, { mode: 'no-cors', cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) });
      return true;
    } catch {
      return false;
    }
  };
}

/** `nodeUrl`: the node the Room is on, for the quick rule's question (none: the 3 s rule only). */
export function roomTransports(room: Room, nodeUrl?: () => string | undefined): MediaPathSource {
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
    nodeAnswers: nodeUrl === undefined ? undefined : nodeAnswers(nodeUrl),
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
  /** The pauses between growths over the last PAUSE_MEMORY_MS: when each ended, and how long it was. */
  pauses: Array<{ at: number; ms: number }>;
}

/**
 * The silence after which the quick rule counts this flow silent (twice its longest pause but one, at
 * least QUICK_SILENCE_MS), and whether it has shown enough pauses for that to mean something. One pause
 * apart is no rhythm: a move's own set-up (ICE and DTLS done, media not yet) or a busy moment of the node.
 */
function quickSilence(track: TransportTrack): { ms: number; known: boolean } {
  const [, longest = 0] = track.pauses.map((p) => p.ms).sort((a, b) => b - a);
  return { ms: Math.max(QUICK_SILENCE_MS, 2 * longest), known: track.pauses.length >= QUICK_MIN_PAUSES };
}

/**
 * Watches a connected Room's media path, which can die while the signal WebSocket is fine: a node whose
 * UDP is dropped still answers its signal and its HTTP probes. The path is lost when every peer connection
 * that was receiving has received nothing for MEDIA_SILENCE_MS, or for its quick silence while the node
 * answers HTTP (QUICK_SILENCE_MS), or when one that was connected turns ICE `disconnected` (a participant
 * that only subscribes, to a node that sends nothing). Silence on every connection, not one: another
 * participant's bad network stops their media on our subscriber connection,
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
  /** The quick rule's question to the node, for the silence under way: asked, answered when. */
  let asked: { answeredAt?: number; answered?: boolean } | undefined;
  const read = (readings: TransportReading[], at: number) => {
    let iceLost: string | undefined;
    const receiving: Array<{ name: string; silentMs: number; quick: { ms: number; known: boolean } }> = [];
    for (const { name, ice, bytesReceived, expected } of readings) {
      const track = tracks.get(name) ?? { wasConnected: false, pauses: [] };
      tracks.set(name, track);
      if (CONNECTED.has(ice)) track.wasConnected = true;
      else if (track.wasConnected && LOST.has(ice)) iceLost ??= `the ${name} connection is ${ice}`;
      if (bytesReceived !== undefined) {
        if (track.bytes !== undefined && bytesReceived > track.bytes) {
          const pause = track.lastGrewAt === undefined ? undefined : at - track.lastGrewAt;
          // A flow that starts, or starts again after a lost path, starts its history again.
          if (pause === undefined || pause >= MEDIA_SILENCE_MS) track.pauses = [];
          else track.pauses.push({ at, ms: pause });
          track.pauses = track.pauses.filter((p) => at - p.at <= PAUSE_MEMORY_MS);
          track.lastGrewAt = at;
        }
        track.bytes = bytesReceived;
      }
      // A connection counts again once something arrives on it after it became expected.
      if (!expected) {
        track.lastGrewAt = undefined;
        track.pauses = [];
      }
      if (track.lastGrewAt === undefined) continue;
      receiving.push({ name, silentMs: at - track.lastGrewAt, quick: quickSilence(track) });
    }
    const names = receiving.map((r) => r.name);
    const connections = `the ${names.join(' and ')} connection${names.length > 1 ? 's' : ''}`;
    const silentFor = (ms: (r: (typeof receiving)[number]) => number) =>
      receiving.length > 0 && receiving.every((r) => r.silentMs >= ms(r));
    // The quick rule judges only where one of the silent flows has shown its rhythm.
    const judged = receiving.some((r) => r.quick.known);
    // Why the quick rule did not judge first, in the slow rule's words (a path lost after 3 s, not 1).
    const whyNotQuick = () => {
      const rhythm = receiving
        .map(({ name, quick }) => `${name} ${quick.known ? `quick silence ${quick.ms} ms` : 'rhythm not known yet'}`)
        .join(', ');
      const node =
        asked?.answered === undefined
          ? 'not asked or no answer yet'
          : asked.answered
            ? 'answered HTTP'
            : 'did not answer HTTP';
      return `${rhythm}; node ${node}`;
    };
    return {
      slow: silentFor(() => MEDIA_SILENCE_MS)
        ? `nothing received for ${MEDIA_SILENCE_MS / 1000} s on ${connections} (${whyNotQuick()})`
        : iceLost,
      quick:
        judged && silentFor((r) => r.quick.ms)
          ? `nothing received for ${Math.min(...receiving.map((r) => r.silentMs))} ms on ${connections} while the node answers HTTP`
          : undefined,
      askNow: judged && silentFor(() => QUICK_ASK_MS),
      /** Every flow quiet past one check: the silence a question to the node belongs to goes on. */
      quiet: silentFor(() => MEDIA_PATH_CHECK_MS + 1),
    };
  };
  /** Asks the node once per silence; its answer is read by a later check. */
  const ask = (at: number) => {
    if (asked || !source.nodeAnswers) return;
    const question: { answeredAt?: number; answered?: boolean } = {};
    asked = question;
    void source
      .nodeAnswers()
      .catch(() => false)
      .then((answered) => {
        question.answered = answered;
        question.answeredAt = Math.max(now(), at);
      });
  };
  const lostWhy = (readings: TransportReading[], at: number): string | undefined => {
    const { slow, quick, askNow, quiet } = read(readings, at);
    if (!quiet) asked = undefined;
    if (slow) return slow;
    if (askNow) ask(at);
    if (!quick) return undefined;
    // Silent still a check after the node answered: its HTTP is fine and its media is not.
    if (asked?.answered && asked.answeredAt !== undefined && at - asked.answeredAt >= MEDIA_PATH_CHECK_MS) return quick;
    return undefined;
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
