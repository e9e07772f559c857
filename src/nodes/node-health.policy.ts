// How fast a dead or hung node is declared down. Peers: LiveKit marks a node unavailable when its
// stats are 5 s old; Jitsi's health checks run every 10 s; OpenVidu 2 waits for the KMS ping (~3-4 s).
//
// Measured on the 2-core dev box (4 Chromium pages + 3 node processes + backend, no node stopped): a busy
// but alive node answered `GET /` up to 4-9 s late, the backend's own loop lagged up to 0.9 s, and the old
// rule "two 450 ms timeouts = down" produced 29 false downs in 25 s. So a slow answer is not evidence of
// death: probes stay in flight, any answer (however late) proves the node alive, and only silence counted
// while the backend itself was responsive can call a node hung.

/** Time between two probes of one node (LiveKit nodes report stats every 2 s). */
export const PROBE_INTERVAL_MS = 250;
/**
 * A node is hung when no probe has been answered for this long since the oldest unanswered one was
 * sent, counting only time the backend's own loop was on time. Hung (SIGSTOP) seen in ~1.0-1.3 s
 * (LiveKit: 5 s), so a hung-node failover stays under 3 s end to end.
 */
export const HUNG_AFTER_MS = 1_000;
/**
 * A probe that has not been answered after this long is dropped (its silence keeps counting). Long on
 * purpose: a late answer is still good news, and a stopped node that resumes answers its backlog.
 */
export const PROBE_GIVE_UP_MS = 10_000;
/**
 * A client's report probes the node at once when no probe has left for this long and the node stood up
 * (else the report waits for the loop's next answer): a SIGKILLed node is then found down tens of ms
 * after its clients see it die, not up to PROBE_INTERVAL_MS later, and a flood of reports costs at most
 * one probe per this interval. A node already failing is asked again at the loop's pace only.
 */
export const REPORT_PROBE_AFTER_MS = 50;
/** Probes kept in flight per node at most: a hung node does not pile up connections in its backlog. */
export const MAX_PROBES_IN_FLIGHT = 8;
/**
 * Lateness of our own probe timer we accept as normal jitter; beyond it the backend, not the node, was
 * busy, and that time is not counted as the node's silence.
 */
export const LOOP_LAG_ALLOWANCE_MS = 25;
/** Answers that are not 200 (LiveKit: 406 when its stats are stale) in a row before down. */
export const FAILURES_TO_DOWN = 2;
/**
 * Hard failures (connection refused / reset) in a row before down. Nothing listens on the port any
 * more, so one is proof enough: a SIGKILLed node is down one probe after the crash.
 */
export const HARD_FAILURES_TO_DOWN = 1;
/**
 * A node whose participants lost their media path to it (while it answers probes) takes no new session
 * for this long; then it is tried again (a session placed there whose participants lose it again moves
 * again, and marks it again).
 */
export const FAILING_FOR_CLIENTS_MS = 60_000;
/** Successes in a row before a down node takes sessions again (flapping guard, ~0.75 s). */
export const SUCCESSES_TO_UP = 3;
