// How fast a dead or hung node is declared down. Peers: LiveKit marks a node unavailable when its
// stats are 5 s old; Jitsi's health checks run every 10 s; OpenVidu 2 waits for the KMS ping (~3-4 s).

/** Time between two probes of one node (LiveKit nodes report stats every 2 s). */
export const PROBE_INTERVAL_MS = 250;
/** A probe slower than this counts as a failure: a hung node (socket open, no answer) ends here. */
export const PROBE_TIMEOUT_MS = 450;
/** Soft failures (timeout, bad status) in a row before down: hung node seen in ~0.9-1.2 s (LiveKit: 5 s). */
export const FAILURES_TO_DOWN = 2;
/**
 * Hard failures (connection refused / reset) in a row before down. Nothing listens on the port any
 * more, so one is proof enough: a SIGKILLed node is down one probe after the crash.
 */
export const HARD_FAILURES_TO_DOWN = 1;
/** Successes in a row before a down node takes sessions again (flapping guard, ~0.75 s). */
export const SUCCESSES_TO_UP = 3;
/** Report-triggered probes run back to back until a verdict, at most this many. */
export const MAX_VERDICT_PROBES = FAILURES_TO_DOWN + 1;
