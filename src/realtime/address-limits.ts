import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/**
 * Socket limits per client address (the one a trusted proxy forwards, as for HTTP): open sockets
 * (--max-sockets-per-address) and handshakes a minute (--rate-limit), on this instance. 0 = no limit.
 */
export class AddressLimits {
  private readonly open = new Map<string, number>();
  private readonly handshakes = new Map<string, { windowStart: number; count: number }>();
  private readonly trust: ReturnType<typeof proxyAddr.compile>;

  constructor(
    private readonly maxSockets: number,
    private readonly perMinute: number,
    trustProxy: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    this.trust = proxyAddr.compile([...trustProxy]);
  }

  addressOf(request: IncomingMessage): string {
    return proxyAddr(request, this.trust);
  }

  /** Counts a handshake; answers why it is refused, or undefined when it may go on. */
  admit(address: string): string | undefined {
    if (this.perMinute > 0) {
      const now = this.now();
      const window = this.handshakes.get(address);
      if (!window || now - window.windowStart >= 60_000) this.handshakes.set(address, { windowStart: now, count: 1 });
      else if (++window.count > this.perMinute) return `too many connection attempts from this address: at most ${this.perMinute} a minute`;
      // Old windows go, so the map holds only the addresses of the last minute.
      if (this.handshakes.size > 10_000) for (const [key, w] of this.handshakes) if (now - w.windowStart >= 60_000) this.handshakes.delete(key);
    }
    if (this.maxSockets > 0 && (this.open.get(address) ?? 0) >= this.maxSockets) return `too many open connections from this address: at most ${this.maxSockets}`;
    return undefined;
  }

  opened(address: string): void {
    this.open.set(address, (this.open.get(address) ?? 0) + 1);
  }

  closed(address: string): void {
    const left = (this.open.get(address) ?? 1) - 1;
    if (left > 0) this.open.set(address, left);
    else this.open.delete(address);
  }
}
