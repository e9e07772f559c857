export interface NodeLoad {
  url: string;
  participants: number;
  sessions: number;
}

/** No per-node limit unless the operator sets one. */
export const UNLIMITED = Number.POSITIVE_INFINITY;

/**
 * Least-loaded healthy node for one more session of `weight` participants: fewest participants, then
 * fewest sessions, then configuration order (stable, so tests and operators can predict it). A node that
 * would go over `capacity` participants or `sessionCapacity` sessions is not a candidate. `loads` lists
 * healthy candidates only.
 */
export function pickLeastLoaded(
  loads: NodeLoad[],
  exclude: ReadonlySet<string> = new Set(),
  weight = 0,
  capacity = UNLIMITED,
  sessionCapacity = UNLIMITED,
): string | undefined {
  let best: NodeLoad | undefined;
  for (const load of loads) {
    if (exclude.has(load.url) || load.participants + weight > capacity || load.sessions + 1 > sessionCapacity) continue;
    const better =
      !best ||
      load.participants < best.participants ||
      (load.participants === best.participants && load.sessions < best.sessions);
    if (better) best = load;
  }
  return best?.url;
}
