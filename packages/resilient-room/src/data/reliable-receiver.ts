import type { MessagePacket } from './envelope';

/** Acknowledgements are cumulative and batched: one per sender at most this often. */
export const ACK_DELAY_MS = 50;
/** Messages held per sender while waiting for an earlier one (or for its sync); beyond, the newest are dropped and come again. */
export const MAX_HELD_PER_SENDER = 4096;

export interface ReceiverOutput {
  /** Deliver to the app: once per message, in the sender's order. */
  deliver(identity: string, message: MessagePacket): void;
  /** Acknowledge to `identity` everything of `epoch` up to `upTo`. */
  ack(identity: string, epoch: number, upTo: number): void;
}

interface SenderState {
  epoch: number;
  /** The next sequence number to deliver; undefined until the sender's sync says where we start. */
  expected?: number;
  held: Map<number, MessagePacket>;
  ackTimer?: ReturnType<typeof setTimeout>;
}

/**
 * The receiving half of reliable data: per sender, delivers messages in sequence, holds any that come
 * early (a resend after a move may overtake nothing, but a new message may overtake a resend), drops
 * duplicates, and acknowledges what it has, so the sender can forget it.
 */
export class ReliableReceiver {
  private readonly senders = new Map<string, SenderState>();

  constructor(private readonly output: ReceiverOutput) {}

  onMessage(identity: string, message: MessagePacket): void {
    if (!message.reliable) return this.output.deliver(identity, message);
    const state = this.stateOf(identity, message.epoch);
    if (state.expected !== undefined && message.seq < state.expected) return this.scheduleAck(identity, state);
    if (state.held.size < MAX_HELD_PER_SENDER && !state.held.has(message.seq)) state.held.set(message.seq, message);
    if (state.expected === undefined) return;
    this.drain(identity, state);
    this.scheduleAck(identity, state);
  }

  /** The sender keeps its messages for us from `from` on: anything earlier was not meant for us. */
  onSync(identity: string, epoch: number, from: number): void {
    const state = this.stateOf(identity, epoch);
    if (state.expected === undefined || from > state.expected) {
      state.expected = from;
      for (const seq of state.held.keys()) if (seq < from) state.held.delete(seq);
    }
    this.drain(identity, state);
    this.scheduleAck(identity, state);
  }

  /** The sender left for good. */
  forget(identity: string): void {
    const state = this.senders.get(identity);
    if (state?.ackTimer !== undefined) clearTimeout(state.ackTimer);
    this.senders.delete(identity);
  }

  stop(): void {
    for (const identity of [...this.senders.keys()]) this.forget(identity);
  }

  private stateOf(identity: string, epoch: number): SenderState {
    let state = this.senders.get(identity);
    if (!state || state.epoch !== epoch) {
      // A new epoch: the same identity joined again with a new ResilientRoom; the old one's state is moot.
      if (state?.ackTimer !== undefined) clearTimeout(state.ackTimer);
      state = { epoch, held: new Map() };
      this.senders.set(identity, state);
    }
    return state;
  }

  private drain(identity: string, state: SenderState): void {
    if (state.expected === undefined) return;
    for (let next = state.held.get(state.expected); next; next = state.held.get(state.expected)) {
      state.held.delete(state.expected);
      state.expected++;
      this.output.deliver(identity, next);
    }
  }

  private scheduleAck(identity: string, state: SenderState): void {
    if (state.ackTimer !== undefined || state.expected === undefined) return;
    state.ackTimer = setTimeout(() => {
      state.ackTimer = undefined;
      if (this.senders.get(identity) === state && state.expected !== undefined)
        this.output.ack(identity, state.epoch, state.expected - 1);
    }, ACK_DELAY_MS);
  }
}
