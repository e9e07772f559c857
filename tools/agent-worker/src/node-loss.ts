// When the job's room loses its node. Nobody tells a job that its node died (LiveKit's JobTermination
// would come from that node), so agents-js ends it only when its Room gives up resuming: ~16 s after a
// SIGKILL here (the Rust SDK's reconnect attempts). Meanwhile the session is rebuilt on another node and
// LiveKit dispatches a new job there. This watch asks the node itself, as the backend's probes do: a
// refused connection means the node is gone, and the job ends at once; a node that answers keeps the job
// (the SDK resumes it); a node that answers nothing for NODE_SILENT_LIMIT_MS is taken for dead too.
import { type Room, RoomEvent } from '@livekit/rtc-node';

/** How often the node is asked while the Room is reconnecting. */
export const NODE_PROBE_INTERVAL_MS = 250;
/** One probe's bound: a LiveKit node answers GET / in a few ms. */
export const NODE_PROBE_TIMEOUT_MS = 1_000;
/** A hung node (socket open, nothing answers): beats the SDK's own ~16 s of resume attempts. */
export const NODE_SILENT_LIMIT_MS = 3_000;

type ProbeResult = 'answered' | 'refused' | 'silent';

async function probe(httpUrl: string): Promise<ProbeResult> {
  try {
    const response = await fetch(httpUrl, { signal: AbortSignal.timeout(NODE_PROBE_TIMEOUT_MS) });
    await response.body?.cancel();
    return 'answered';
  } catch (error) {
    const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    return code === 'ECONNREFUSED' || code === 'ECONNRESET' ? 'refused' : 'silent';
  }
}

/**
 * Calls `end` (once) when the Room is reconnecting and its node at `wsUrl` refuses connections, or has
 * answered nothing for NODE_SILENT_LIMIT_MS. Stops watching when the Room reconnects or disconnects.
 */
export function watchForLostNode(room: Room, wsUrl: string, end: (why: string) => void): void {
  const httpUrl = wsUrl.replace(/^ws/, 'http');
  /** Raised by every Reconnecting, Reconnected and Disconnected: a watch runs while it is current. */
  let round = 0;
  let ended = false;

  const watch = async (mine: number) => {
    let lastAnswer = performance.now();
    while (mine === round && !ended) {
      const result = await probe(httpUrl);
      if (mine !== round || ended) return;
      if (result === 'answered') lastAnswer = performance.now();
      const silentMs = Math.round(performance.now() - lastAnswer);
      if (result === 'refused' || silentMs >= NODE_SILENT_LIMIT_MS) {
        ended = true;
        end(
          result === 'refused'
            ? `its node ${wsUrl} refuses connections: gone`
            : `its node ${wsUrl} has answered nothing for ${silentMs} ms`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, NODE_PROBE_INTERVAL_MS));
    }
  };

  room.on(RoomEvent.Reconnecting, () => void watch(++round));
  room.on(RoomEvent.Reconnected, () => void ++round);
  room.on(RoomEvent.Disconnected, () => void ++round);
}
