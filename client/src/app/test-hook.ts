import type { LogEntry, MoveTiming, RemoteVideoStats, ResilientRoom, ResilientRoomState } from '../lib';

/**
 * `window.__sessionRebuilder`, set only when the page is opened with `?test-hook=1`: a small, stable,
 * read-only view for browser tests, the benchmarks and users' own automation. Every instant is epoch ms.
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
  /** inbound-rtp video framesDecoded per remote identity on the current node. */
  framesDecoded(): Promise<Record<string, number>>;
  /** The inbound-rtp details behind it (packets, keyframes, PLIs), for diagnosing a test failure. */
  videoStats(): Promise<RemoteVideoStats[]>;
}

declare global {
  interface Window {
    __sessionRebuilder?: SessionRebuilderHook;
  }
}

export function installTestHook(getRoom: () => ResilientRoom | undefined, log: LogEntry[]): void {
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
    framesDecoded: () => getRoom()?.framesDecoded() ?? Promise.resolve({}),
    videoStats: () => getRoom()?.videoStats() ?? Promise.resolve([]),
  };
}
