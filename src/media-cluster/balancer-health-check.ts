import type { NginxProcess } from './nginx';

/** How often each member is asked `GET /`; a cloud balancer's or a Kubernetes readiness check, made short. */
export const HEALTH_CHECK_INTERVAL_MS = 250;
/** A member that has not answered within this is left out (LiveKit answers `GET /` in about a millisecond). */
export const HEALTH_CHECK_TIMEOUT_MS = 500;

/**
 * The active health check nginx's open-source build lacks, for the one URL in front of LiveKit's cluster:
 * each member is asked `GET /` in turn, and a member that refuses, fails or does not answer in time is
 * left out of nginx's upstreams until it answers again. Passive checks alone cannot skip a hung member
 * (SIGSTOP): the kernel still accepts its connections, so nginx sends it every other join, which waits
 * for the client's timeout. What a real deployment's balancer does (LiveKit's Helm chart: a Service whose
 * endpoints follow a readiness probe on `GET /`). When no member answers, none is left out: a machine
 * too busy to answer in time must not turn the URL off, and dead members refuse anyway.
 */
export class BalancerHealthCheck {
  private down: string[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly nginx: NginxProcess,
    private readonly upstreams: readonly string[],
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check().finally(() => this.schedule()), HEALTH_CHECK_INTERVAL_MS);
  }

  private async check(): Promise<void> {
    const answered = await Promise.all(this.upstreams.map((upstream) => answersHealthCheck(upstream)));
    const failing = this.upstreams.filter((_, i) => !answered[i]);
    const down = failing.length === this.upstreams.length ? [] : failing;
    if (this.stopped || down.join() === this.down.join()) return;
    this.down = down;
    this.nginx.setDown(down);
  }
}

async function answersHealthCheck(upstream: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${upstream}/`, { signal: AbortSignal.timeout(HEALTH_CHECK_TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
