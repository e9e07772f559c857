import { FAILURES_TO_DOWN, HARD_FAILURES_TO_DOWN, SUCCESSES_TO_UP } from './node-health.policy';

export type NodeStatus = 'unknown' | 'up' | 'suspect' | 'down';

/** refused/reset: nothing listens; timeout: hung; status: answered, but not 200; error: anything else. */
export type ProbeFailureKind = 'refused' | 'reset' | 'timeout' | 'status' | 'error';

export type ProbeResult = { ok: true; latencyMs: number } | { ok: false; kind: ProbeFailureKind; detail: string; latencyMs: number };

export interface NodeTransition {
  from: NodeStatus;
  to: NodeStatus;
  reason: string;
  /** What made a node go down: decides the rejoin reason pushed to clients. */
  cause?: ProbeFailureKind;
}

export interface NodeHealthSnapshot {
  url: string;
  status: NodeStatus;
  since: number;
  reason: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastProbeAt?: number;
  lastLatencyMs?: number;
}

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

  apply(result: ProbeResult, now: number): NodeTransition | undefined {
    this.lastProbeAt = now;
    this.lastLatencyMs = result.latencyMs;
    if (result.ok) {
      this.consecutiveFailures = 0;
      this.consecutiveHardFailures = 0;
      this.consecutiveSuccesses++;
      const recovered = this.status === 'down' ? this.consecutiveSuccesses >= SUCCESSES_TO_UP : this.status !== 'up';
      return recovered ? this.move('up', this.status === 'down' ? `answered ${this.consecutiveSuccesses} probes in a row` : 'answered', now) : undefined;
    }
    this.consecutiveSuccesses = 0;
    this.consecutiveFailures++;
    this.consecutiveHardFailures = HARD.has(result.kind) ? this.consecutiveHardFailures + 1 : 0;
    if (this.status === 'down') {
      this.reason = `${result.kind}: ${result.detail}`;
      return undefined;
    }
    const down = this.consecutiveHardFailures >= HARD_FAILURES_TO_DOWN || this.consecutiveFailures >= FAILURES_TO_DOWN;
    if (down) return this.move('down', `${result.kind}: ${result.detail} (${this.consecutiveFailures} failed probe(s))`, now, result.kind);
    if (this.status !== 'suspect') return this.move('suspect', `${result.kind}: ${result.detail}`, now, result.kind);
    return undefined;
  }

  /** A failure seen outside the probe loop (a Twirp call that could not connect, say). */
  markDown(reason: string, cause: ProbeFailureKind, now: number): NodeTransition | undefined {
    if (this.status === 'down') return undefined;
    this.consecutiveSuccesses = 0;
    return this.move('down', reason, now, cause);
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
