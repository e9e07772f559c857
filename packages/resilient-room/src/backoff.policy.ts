import type { ReconnectContext, ReconnectPolicy } from 'livekit-client';

/**
 * The SDK may try a quick RESUME against the same node (a blip, not a crash), but never its default
 * backoff of 0, 0.3, 1.2, 2.7, 4.8, 7, 7... s for ~40 s against a URL that is gone: the move to a
 * healthy node is driven by ResilientRoom in parallel, and it drops this Room when it moves.
 */
export const SDK_RESUME_DELAYS_MS = [0, 300] as const;

export class QuickResumePolicy implements ReconnectPolicy {
  nextRetryDelayInMs(context: ReconnectContext): number | null {
    return SDK_RESUME_DELAYS_MS[context.retryCount] ?? null;
  }
}

export interface BackoffSettings {
  baseMs: number;
  capMs: number;
}

/** Retrying the backend's rejoin call while it is unreachable or answers 5xx. */
export const BACKEND_RETRY_BACKOFF: BackoffSettings = { baseMs: 250, capMs: 4_000 };
/** Retrying while the backend says no media node is up (503); a push usually comes first. */
export const NO_NODE_RETRY_BACKOFF: BackoffSettings = { baseMs: 500, capMs: 5_000 };

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so many clients of one
 * session never retry in lockstep and a retry never happens in a tight loop.
 */
export function backoffDelayMs(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.capMs, settings.baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
