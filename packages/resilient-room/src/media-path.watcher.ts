import type { Room } from 'livekit-client';

/** How often the current Room's peer connections are looked at (a state read, no getStats). */
export const MEDIA_PATH_CHECK_MS = 250;
/**
 * While the media path stays dead after a report (the backend kept us here: not enough of the session
 * reported yet), it is reported again this often, so a later quorum still counts this participant.
 */
export const MEDIA_PATH_REPEAT_MS = 3_000;

type IceState = RTCIceConnectionState;

/** What the watcher reads of a Room: its transports' ICE states (livekit-client's `engine.pcManager`). */
export interface MediaPathSource {
  transports(): Array<{ name: string; ice: IceState | undefined }>;
}

export function roomTransports(room: Room): MediaPathSource {
  return {
    transports: () => {
      const manager = room.engine?.pcManager;
      return [
        { name: 'publisher', ice: manager?.publisher.getICEConnectionState() },
        { name: 'subscriber', ice: manager?.subscriber?.getICEConnectionState() },
      ];
    },
  };
}

const CONNECTED: ReadonlySet<IceState | undefined> = new Set(['connected', 'completed']);
const LOST: ReadonlySet<IceState | undefined> = new Set(['disconnected', 'failed']);

/**
 * Watches a connected Room's media path: a peer connection that was connected and whose ICE turns
 * `disconnected` has received nothing, not even a STUN consent answer, for the browser's receiving timeout
 * (Chromium: 2.5 s). That is the media path dying while the signal WebSocket may be fine: a node whose UDP
 * is dropped answers its signal and its HTTP probes all the same. livekit-client itself acts only on
 * `failed`, which consent freshness reaches after about 30 s (notes: ~17 s seen). `onLost` is called at
 * once, then every MEDIA_PATH_REPEAT_MS while the path stays dead; a path that comes back re-arms it.
 * Returns a stop function; it also stops by itself once `isLive()` answers false.
 */
export function watchMediaPath(
  source: MediaPathSource,
  isLive: () => boolean,
  onLost: (transport: string, ice: IceState) => void,
): () => void {
  const wasConnected = new Set<string>();
  let lastReportAt: number | undefined;
  const check = () => {
    if (!isLive()) return stop();
    let lost: { name: string; ice: IceState } | undefined;
    for (const { name, ice } of source.transports()) {
      if (CONNECTED.has(ice)) wasConnected.add(name);
      else if (wasConnected.has(name) && LOST.has(ice)) lost ??= { name, ice: ice! };
    }
    if (!lost) {
      lastReportAt = undefined;
      return;
    }
    const now = Date.now();
    if (lastReportAt !== undefined && now - lastReportAt < MEDIA_PATH_REPEAT_MS) return;
    lastReportAt = now;
    onLost(lost.name, lost.ice);
  };
  const timer = setInterval(check, MEDIA_PATH_CHECK_MS);
  const stop = () => clearInterval(timer);
  return stop;
}
