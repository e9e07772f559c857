// When the job's room loses its node. Nobody tells a job that its node died (LiveKit's JobTermination
// would come from that node), so agents-js ends it only when its Room gives up resuming: ~16 s after a
// SIGKILL here (the Rust SDK's reconnect attempts). Meanwhile the session is rebuilt on another node and
// LiveKit dispatches a new job there. These watches ask the room's node itself, as the backend's probes
// do: a refused connection means the node is gone, and the job ends at once; a node that answers keeps
// the job; on independent nodes a node that answers nothing for NODE_SILENT_LIMIT_MS is taken for dead
// too (in LiveKit's cluster a hung node shows as its room moving).
import { type Room, RoomEvent } from '@livekit/rtc-node';
import type { ClusterMember, LiveKitRegistry } from './livekit-registry.js';

/** How often the node is asked (while the Room is reconnecting; in LiveKit's cluster, all along). */
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

const pause = () => new Promise((resolve) => setTimeout(resolve, NODE_PROBE_INTERVAL_MS));

/**
 * Independent nodes: the job's URL is its room's node. Calls `end` (once) when the Room is reconnecting
 * and the node at `wsUrl` refuses connections, or has answered nothing for NODE_SILENT_LIMIT_MS. Stops
 * watching when the Room reconnects or disconnects.
 */
export function watchJobNode(room: Room, wsUrl: string, end: (why: string) => void): void {
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
      await pause();
    }
  };

  room.on(RoomEvent.Reconnecting, () => void watch(++round));
  room.on(RoomEvent.Reconnected, () => void ++round);
  room.on(RoomEvent.Disconnected, () => void ++round);
}

/**
 * LiveKit's own cluster: the job's URL is the cluster's, which keeps answering whichever node died, and
 * its signal may be relayed by another node than the one holding its room (so the Room may notice
 * nothing for ~10 s), while its SDK would resume into the room LiveKit re-creates elsewhere, beside
 * the job LiveKit dispatches there. So the job watches its room's own node, found in LiveKit's Redis
 * (`room_node_map`, then its address in `nodes`), from the start: it ends when that node refuses
 * connections, or when `room_node_map` names another node (the room was re-created there, with its own
 * job: how a hung node shows here, once the backend has moved its sessions). Silence alone ends
 * nothing: on a starved machine a live node's answer can be late, and a job ended by mistake is an
 * agent gone from its session for good. A Redis that cannot be read ends nothing either.
 */
export function watchRoomNode(
  room: Room,
  roomName: string,
  registry: LiveKitRegistry,
  nodePort: number,
  end: (why: string) => void,
  warn: (message: string) => void,
): void {
  let over = false;
  room.on(RoomEvent.Disconnected, () => void (over = true));
  let redisFailing = false;
  /** One read of LiveKit's Redis; undefined when it fails (said once per spell of failures). */
  const read = async <T>(what: () => Promise<T>): Promise<T | undefined> => {
    try {
      const value = await what();
      redisFailing = false;
      return value;
    } catch (error) {
      if (!redisFailing) warn(error instanceof Error ? error.message : String(error));
      redisFailing = true;
      return undefined;
    }
  };

  void (async () => {
    // The room's node as the job starts: LiveKit maps the room (SelectRoomNode) before it creates it on
    // that node, whose creation dispatches the job, so a job is never dispatched under a stale entry.
    let home: ClusterMember | undefined;
    while (!home && !over) {
      const id = await read(() => registry.roomNodeId(roomName));
      home = id === undefined ? undefined : await read(() => registry.member(id));
      if (!home) await pause();
    }
    if (!home) return;
    const host = home.ip.includes(':') ? `[${home.ip}]` : home.ip;
    const httpUrl = `http://${host}:${nodePort}/`;
    const node = `its room's node ${home.id} (${httpUrl})`;
    while (!over) {
      const [result, nowOn] = await Promise.all([probe(httpUrl), read(() => registry.roomNodeId(roomName))]);
      if (over) return;
      let why: string | undefined;
      if (result === 'refused') why = `${node} refuses connections: gone`;
      else if (nowOn && nowOn !== home.id)
        why = `its room moved from node ${home.id} to ${nowOn}, with a job of its own`;
      if (why) {
        over = true;
        end(why);
        return;
      }
      await pause();
    }
  })().catch((error: unknown) => warn(`the watch of its room's node stopped: ${String(error)}`));
}
