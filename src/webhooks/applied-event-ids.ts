export const APPLIED_EVENT_IDS = Symbol('AppliedEventIds');

/**
 * A delivery being applied holds its id this long at most: well over an apply's worst case (each store
 * call times out after 2 s, a busy session is asked again for 500 ms). An instance that dies in the
 * middle leaves its claim to expire, and LiveKit's retry after that is applied.
 */
export const APPLYING_CLAIM_MS = 30_000;

/**
 * Webhook ids claimed or applied, shared by every instance that LiveKit's deliveries (and its retries
 * of them) may reach: an event is applied once. The id is claimed before the apply, so two deliveries
 * at once cannot both apply it, and given back when the apply fails, so LiveKit's retry is applied.
 */
export interface AppliedEventIds {
  /** Takes the id for this delivery; false when another delivery holds it or applied it. */
  claim(id: string): Promise<boolean>;
  /** The event is applied: its id is kept as long as a replay of it could carry a valid signature. */
  applied(id: string): Promise<void>;
  /** Its apply failed: the id is free for the retry. */
  release(id: string): Promise<void>;
}
