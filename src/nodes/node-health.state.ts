import type { NodeStatus, NodeSummary } from '../contracts';
import type { NodeTransition, ProbeFailureKind } from '../events/node.events';
import { FAILURES_TO_DOWN, HARD_FAILURES_TO_DOWN, HUNG_AFTER_MS, SUCCESSES_TO_UP } from './node-health.policy';

export type ProbeResult =
  { ok: true; latencyMs: number } | { ok: false; kind: ProbeFailureKind; detail: string; latencyMs: number };

/** What GET /api/nodes shows of a node's health (the rest of its summary is load and the peers' views). */
export type NodeHealthSnapshot = Omit<NodeSummary, 'sinceIso' | 'sessions' | 'participants' | 'peers'>;

/** Silence beyond this is worth a `suspect` (shown in /api/nodes; nothing moves on it). */
const SUSPECT_AFTER_MS = HUNG_AFTER_MS / 2;

const HARD: ReadonlySet<ProbeFailureKind> = new Set(['refused', 'reset']);

/** The per-node state machine, pure: fed probe results and timestamps, it answers transitions. */
export class NodeHealthState {
  status: NodeStatus = 'unknown';
  since: number;
  reason = 'not probed yet';
  consecutiveFailures = 0;
  consecutiveHardFailures = 0;
  consecutiveSuccesses = 0;
  lastProbeAt?: number;
  lastLatencyMs?: number;

  constructor(
    readonly url: string,
    now: number,
  ) {
    this.since = now;
  }

  /** Silence counted since the oldest unanswered probe; reset by any answer. */
  silentMs = 0;
  /** A probe sent after the last answer is still unanswered: silence counts. */
  private awaiting = false;

  /** A probe left for the node: from now on its silence counts until something answers. */
  probeSent(): void {
    this.awaiting = true;
  }

  /**
   * The outcome of one probe. Any answer from the node, however late, proves its process alive and
   * clears the silence; a given-up probe (`timeout`) is no evidence either way (silence keeps counting).
   * `stillInFlight`: probes still unanswered after this one.
   */
  apply(result: ProbeResult, now: number, stillInFlight = 0): NodeTransition | undefined {
    if (!result.ok && result.kind === 'timeout') return undefined;
    this.lastProbeAt = now;
    this.lastLatencyMs = result.latencyMs;
    if (result.ok || result.kind === 'status') {
      this.silentMs = 0;
      this.awaiting = stillInFlight > 0;
    }
    if (result.ok) {
      this.consecutiveFailures = 0;
      this.consecutiveHardFailures = 0;
      this.consecutiveSuccesses++;
      const recovered = this.status === 'down' ? this.consecutiveSuccesses >= SUCCESSES_TO_UP : this.status !== 'up';
      return recovered
        ? this.move(
            'up',
            this.status === 'down'
              ? `answered ${this.consecutiveSuccesses} probes in a row`
              : `answered (${result.latencyMs} ms)`,
            now,
          )
        : undefined;
    }
    this.consecutiveSuccesses = 0;
    this.consecutiveFailures++;
    this.consecutiveHardFailures = HARD.has(result.kind) ? this.consecutiveHardFailures + 1 : 0;
    if (this.status === 'down') {
      this.reason = `${result.kind}: ${result.detail}`;
      return undefined;
    }
    const down = this.consecutiveHardFailures >= HARD_FAILURES_TO_DOWN || this.consecutiveFailures >= FAILURES_TO_DOWN;
    if (down)
      return this.move(
        'down',
        `${result.kind}: ${result.detail} (${this.consecutiveFailures} failed probe(s))`,
        now,
        result.kind,
      );
    if (this.status !== 'suspect') return this.move('suspect', `${result.kind}: ${result.detail}`, now, result.kind);
    return undefined;
  }

  /**
   * `ms` more of the node's silence, as measured by a probe timer that fired on time (the caller leaves
   * out whatever the backend's own loop was late). Hung once the silence reaches HUNG_AFTER_MS.
   */
  addSilence(ms: number, now: number): NodeTransition | undefined {
    if (!this.awaiting) return undefined;
    this.silentMs += ms;
    if (this.status === 'down') {
      // A down node must answer SUCCESSES_TO_UP probes without going silent again in between.
      if (this.silentMs >= HUNG_AFTER_MS) this.consecutiveSuccesses = 0;
      return undefined;
    }
    if (this.silentMs >= HUNG_AFTER_MS) {
      return this.move(
        'down',
        `timeout: no answer for ${Math.round(this.silentMs)} ms (backend lag excluded)`,
        now,
        'timeout',
      );
    }
    if (this.silentMs >= SUSPECT_AFTER_MS && this.status === 'up')
      return this.move('suspect', `timeout: no answer for ${Math.round(this.silentMs)} ms`, now, 'timeout');
    return undefined;
  }

  /**
   * A call outside the probe loop failed (a RoomService timeout or refused connection). That is a reason
   * to stop placing sessions here until the next answered probe, not a death: only probes declare that.
   */
  markSuspect(reason: string, cause: ProbeFailureKind, now: number): NodeTransition | undefined {
    if (this.status !== 'up') return undefined;
    this.consecutiveSuccesses = 0;
    return this.move('suspect', reason, now, cause);
  }

  snapshot(): NodeHealthSnapshot {
    return {
      url: this.url,
      status: this.status,
      since: this.since,
      reason: this.reason,
      consecutiveFailures: this.consecutiveFailures,
      consecutiveSuccesses: this.consecutiveSuccesses,
      lastProbeAt: this.lastProbeAt,
      lastLatencyMs: this.lastLatencyMs,
      silentMs: Math.round(this.silentMs),
    };
  }

  private move(to: NodeStatus, reason: string, now: number, cause?: ProbeFailureKind): NodeTransition {
    const from = this.status;
    this.status = to;
    this.since = now;
    this.reason = reason;
    return { from, to, reason, cause };
  }
}
