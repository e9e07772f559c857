import { ResilientRoomError } from '../errors';
import { encodePacket, markDelayed } from './envelope';

/** Unacknowledged reliable messages one sender keeps (an app may set its own bound). */
export const DEFAULT_MAX_QUEUED_MESSAGES = 1024;
/**
 * A receiver in the same healthy room that acknowledges nothing for this long is sent its pending
 * messages again (LiveKit's reliable channel loses nothing on a live node; this covers a receiver whose
 * own connection blipped). Receivers deduplicate, so a resend is never delivered twice.
 */
export const RETRANSMIT_AFTER_MS = 2_000;
/** A participant present this long without sending any of the library's packets does not run it (a bot, say). */
export const PEER_CONFIRM_MS = 5_000;
/**
 * A sync not acknowledged within this is sent again: one sent the moment a participant arrives can reach
 * it before its data channel is open, and the SFU drops it.
 */
export const SYNC_RETRY_MS = 500;

/** Where the sender's packets go: the current Room, whichever it is. */
export interface SenderTransport {
  /** The current Room is connected (a move is not under way). */
  connected(): boolean;
  /** `identity` is in the current, connected Room. */
  isPresent(identity: string): boolean;
  /** Sends on the current Room, reliably; `to` undefined: everyone in it. */
  transmit(bytes: Uint8Array<ArrayBuffer>, to?: string[]): void;
}

interface Outgoing {
  seq: number;
  encoded: Uint8Array<ArrayBuffer>;
  to?: ReadonlySet<string>;
}

interface Receiver {
  /** The first sequence number kept for this receiver (it joined, or was first seen, then). */
  from: number;
  /** Everything up to here was acknowledged. */
  acked: number;
  /** It sent one of the library's packets: it runs the library (and is never dropped for silence). */
  confirmed: boolean;
  /** It acknowledged our sync (or anything): it knows where our messages for it start. */
  synced: boolean;
  /** When we first tried to sync it (the PEER_CONFIRM_MS clock). */
  firstSyncAt?: number;
  /** When the oldest transmission it has not acknowledged went out (undefined: nothing pending). */
  waitingSince?: number;
  syncSentAt?: number;
}

/**
 * The sending half of reliable data: numbers each message, keeps it until every receiver that should
 * get it has acknowledged it, and sends a receiver everything it lacks whenever it shows up in the
 * current Room (after a move of either side), so messages the dead node swallowed or that were sent
 * during the move arrive, once and in order. The queue is bounded: past the bound send() is refused.
 */
export class ReliableSender {
  private nextSeq = 1;
  private readonly queue: Outgoing[] = [];
  private readonly receivers = new Map<string, Receiver>();

  constructor(
    readonly epoch: number,
    private readonly transport: SenderTransport,
    private readonly maxQueued = DEFAULT_MAX_QUEUED_MESSAGES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Messages kept until acknowledged. */
  get queued(): number {
    return this.queue.length;
  }

  /** Identities that receive reliable messages from this sender (they acknowledged, or may yet). */
  get peers(): string[] {
    return [...this.receivers.keys()];
  }

  /** Queues and, when connected, sends a message; throws `queue-full` past the bound. */
  send(message: { topic?: string; payload: Uint8Array; text: boolean; to?: string[] }): number {
    if (this.queue.length >= this.maxQueued) {
      throw new ResilientRoomError(
        'queue-full',
        `send(): ${this.queue.length} reliable messages are waiting for acknowledgement (the bound is ${this.maxQueued}); this one was not queued. Retry once the session is connected, or raise data.maxQueuedMessages.`,
      );
    }
    const seq = this.nextSeq++;
    const connected = this.transport.connected();
    const encoded = encodePacket({
      kind: 'message',
      epoch: this.epoch,
      seq,
      reliable: true,
      delayed: !connected,
      text: message.text,
      sentAt: this.now(),
      topic: message.topic,
      payload: message.payload,
    });
    const item: Outgoing = { seq, encoded, to: message.to && new Set(message.to) };
    const waiting = [...this.receivers].filter(([identity, r]) => this.pendingFor(item, identity, r));
    if (waiting.length > 0) this.queue.push(item);
    if (!connected) return seq;
    this.transport.transmit(encoded, message.to);
    const at = this.now();
    for (const [identity, r] of waiting) if (this.transport.isPresent(identity)) r.waitingSince ??= at;
    return seq;
  }

  /**
   * `identity` is in the current, connected Room (it was there when we connected, or it arrived): a new
   * receiver starts at the next message; a known one is sent where it stands and everything it lacks.
   */
  peerPresent(identity: string): void {
    let r = this.receivers.get(identity);
    if (!r) {
      r = { from: this.nextSeq, acked: this.nextSeq - 1, confirmed: false, synced: false };
      this.receivers.set(identity, r);
    }
    this.resendTo(identity, r);
  }

  /** `identity` sent one of the library's packets: it runs the library, so it receives ours. */
  heardFrom(identity: string): void {
    const r = this.receivers.get(identity);
    if (r) r.confirmed = true;
    else if (this.transport.isPresent(identity)) {
      this.peerPresent(identity);
      this.receivers.get(identity)!.confirmed = true;
    }
  }

  /** `identity` left for good: nothing more is kept for it. */
  peerGone(identity: string): void {
    if (this.receivers.delete(identity)) this.trim();
  }

  onAck(identity: string, epoch: number, upTo: number): void {
    const r = this.receivers.get(identity);
    if (!r || epoch !== this.epoch) return;
    r.confirmed = true;
    r.synced = true;
    if (upTo <= r.acked) return;
    r.acked = Math.min(upTo, this.nextSeq - 1);
    r.waitingSince = this.queue.some((item) => this.pendingFor(item, identity, r)) ? this.now() : undefined;
    this.trim();
  }

  /**
   * Periodic: syncs again a receiver that has not acknowledged its sync, resends to one that stopped
   * acknowledging, and drops a present participant that never sent a packet of the library's.
   */
  tick(): void {
    const now = this.now();
    for (const [identity, r] of [...this.receivers]) {
      if (!this.transport.isPresent(identity)) continue;
      if (!r.confirmed && r.firstSyncAt !== undefined && now - r.firstSyncAt > PEER_CONFIRM_MS) {
        this.peerGone(identity);
      } else if (!r.synced && r.syncSentAt !== undefined && now - r.syncSentAt > SYNC_RETRY_MS) {
        this.resendTo(identity, r);
      } else if (r.waitingSince !== undefined && now - r.waitingSince > RETRANSMIT_AFTER_MS) {
        this.resendTo(identity, r);
      }
    }
  }

  private resendTo(identity: string, r: Receiver): void {
    if (!this.transport.isPresent(identity)) return;
    const now = this.now();
    this.transport.transmit(encodePacket({ kind: 'sync', epoch: this.epoch, from: r.acked + 1 }), [identity]);
    r.syncSentAt = now;
    r.firstSyncAt ??= now;
    let pending = false;
    for (const item of this.queue) {
      if (!this.pendingFor(item, identity, r)) continue;
      this.transport.transmit(markDelayed(item.encoded), [identity]);
      pending = true;
    }
    r.waitingSince = pending ? now : undefined;
  }

  private pendingFor(item: Outgoing, identity: string, r: Receiver): boolean {
    return item.seq > r.acked && item.seq >= r.from && (!item.to || item.to.has(identity));
  }

  /** Drops the head of the queue while no receiver still needs it. */
  private trim(): void {
    for (let head = this.queue[0]; head; head = this.queue[0]) {
      const item = head;
      if ([...this.receivers].some(([identity, r]) => this.pendingFor(item, identity, r))) return;
      this.queue.shift();
    }
  }
}
