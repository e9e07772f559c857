export interface NodeLoad {
  url: string;
  participants: number;
  sessions: number;
}

/**
 * Least-loaded healthy node: fewest participants, then fewest sessions, then configuration order
 * (stable, so tests and operators can predict it). `loads` lists healthy candidates only.
 */
export function pickLeastLoaded(loads: NodeLoad[], exclude: ReadonlySet<string> = new Set()): string | undefined {
  let best: (NodeLoad & { order: number }) | undefined;
  loads.forEach((load, order) => {
    if (exclude.has(load.url)) return;
    const better =
      !best ||
      load.participants < best.participants ||
      (load.participants === best.participants && load.sessions < best.sessions);
    if (better) best = { ...load, order };
  });
  return best?.url;
}
