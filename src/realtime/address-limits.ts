import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

/** Handshakes are counted per address and minute (--rate-limit). */
const HANDSHAKE_WINDOW_MS = 60_000;

/** Forgotten windows kept at the head of the queue before it is copied down (at most half of it). */
const FORGOTTEN_BEFORE_COMPACTING = 1_024;

interface HandshakeWindow {
  address: string;
  windowStart: number;
  count: number;
}

/**
 * Socket limits per client address (the one a trusted proxy forwards, as for HTTP): open sockets
 * (--max-sockets-per-address) and handshakes a minute (--rate-limit), on this instance. 0 = no limit.
 */
export class AddressLimits {
  private readonly open = new Map<string, number>();
  private readonly handshakes = new Map<string, HandshakeWindow>();
  /** Every window in the order it started; those before `head` are forgotten. */
  private windows: HandshakeWindow[] = [];
  private head = 0;
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
      this.forgetWindowsOver(now);
      const window = this.handshakes.get(address);
      if (!window || now - window.windowStart >= HANDSHAKE_WINDOW_MS) {
        const started = { address, windowStart: now, count: 1 };
        this.handshakes.set(address, started);
        this.windows.push(started);
      } else if (++window.count > this.perMinute)
        return `too many connection attempts from this address: at most ${this.perMinute} a minute`;
    }
    if (this.maxSockets > 0 && (this.open.get(address) ?? 0) >= this.maxSockets)
      return `too many open connections from this address: at most ${this.maxSockets}`;
    return undefined;
  }

  /**
   * The windows that are over are the oldest, at the head of the queue: each is forgotten once, so a
   * handshake costs O(1) amortized. A scan of the whole map on each handshake cost 5 s of CPU for 30,000
   * addresses in a minute (and deleting from the front of a Map is no better: V8 skips its deleted
   * entries again on every new iteration).
   */
  private forgetWindowsOver(now: number): void {
    for (
      let over = this.windows[this.head];
      over && now - over.windowStart >= HANDSHAKE_WINDOW_MS;
      over = this.windows[this.head]
    ) {
      this.head++;
      // The address may have started a newer window since (a clock that went back).
      if (this.handshakes.get(over.address) === over) this.handshakes.delete(over.address);
    }
    if (this.head > FORGOTTEN_BEFORE_COMPACTING && this.head * 2 > this.windows.length) {
      this.windows = this.windows.slice(this.head);
      this.head = 0;
    }
  }

  /** Addresses whose handshakes of the last minute are counted (what this bookkeeping holds in memory). */
  get countedAddresses(): number {
    return this.handshakes.size;
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
