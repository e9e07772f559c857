import type { NodeStatus } from '../contracts';

export const NODE_HEALTH_BOARD = Symbol('NodeHealthBoard');

/** One instance's view of one node, as the instances share it. */
export interface PeerNodeView {
  url: string;
  /** The instance that holds this view (host:port). */
  instance: string;
  status: NodeStatus;
  /** Epoch ms since which it holds, and why. */
  since: number;
  reason: string;
  /** When the instance last wrote it (views are rewritten every BOARD_REFRESH_MS while the instance lives). */
  at: number;
}

/**
 * Where backend instances share what they see of the media nodes. Each instance still decides on its
 * own evidence (its probes, its clients' reports): a verdict shared as a verdict would make one
 * instance's network trouble everyone's. What sharing gives: an instance probes at once when another
 * sees a node change (it learns of a death without waiting for its next probe), and operators read
 * every instance's view in one place.
 */
export interface NodeHealthBoard {
  readonly instance: string;
  /** Writes these views of this instance; `announce` also tells the other instances at once. */
  publish(views: PeerNodeView[], announce: boolean): Promise<void>;
  /** Every instance's views of these nodes written within `freshMs`. */
  read(urls: readonly string[], freshMs: number): Promise<PeerNodeView[]>;
  /** `listener` hears every view another instance announces. */
  subscribe(listener: (view: PeerNodeView) => void): Promise<void>;
  close(): void;
}

/** How often an instance rewrites its views, and how old a view may be before it counts as its instance's last words. */
export const BOARD_REFRESH_MS = 5_000;
export const BOARD_FRESH_MS = 3 * BOARD_REFRESH_MS;
/**
 * A view older than this (by the writer's clock) is deleted, and a node's hash that nobody wrote for this
 * long expires: each instance start is a new field, which would otherwise stay for good. Four times the
 * freshness window, so a clock skew between instances is never what hides a view: reads decide that.
 */
export const BOARD_FORGET_MS = 4 * BOARD_FRESH_MS;
