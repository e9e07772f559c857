import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { decodePacket, decodeText, encodePacket, markDelayed, type Packet } from './envelope';
import { ACK_DELAY_MS, ReliableReceiver } from './reliable-receiver';
import { PEER_CONFIRM_MS, RETRANSMIT_AFTER_MS, ReliableSender, SYNC_RETRY_MS } from './reliable-sender';

/**
 * Two participants and the node between them, packets in flight held until `flush()`. The node can die
 * with packets in flight (they are lost, as a SIGKILLed node loses them) and the participants come back
 * one after the other, as they do after a move.
 */
class Network {
  alive = true;
  readonly present = new Set<string>(['A', 'B']);
  readonly delivered: Record<string, Array<{ from: string; text: string; delayed: boolean }>> = { A: [], B: [] };
  private inFlight: Array<{ from: string; to: string; bytes: Uint8Array }> = [];
  readonly senders: Record<string, ReliableSender> = {};
  readonly receivers: Record<string, ReliableReceiver> = {};

  constructor(maxQueued?: number, peers = ['A', 'B']) {
    for (const me of peers) {
      this.senders[me] = new ReliableSender(
        me === 'A' ? 1 : 2,
        {
          connected: () => this.alive && this.present.has(me),
          isPresent: (identity) => this.alive && this.present.has(me) && this.present.has(identity),
          transmit: (bytes, to) => this.transmit(me, bytes, to),
        },
        maxQueued,
        () => Date.now(),
      );
      this.receivers[me] = new ReliableReceiver({
        deliver: (from, message) =>
          this.delivered[me]!.push({ from, text: decodeText(message.payload), delayed: message.delayed }),
        ack: (to, epoch, upTo) => this.transmit(me, encodePacket({ kind: 'ack', epoch, upTo }), [to]),
      });
    }
  }

  send(from: string, text: string): void {
    this.senders[from]!.send({ payload: new TextEncoder().encode(text), text: true });
  }

  /** Delivers what is in flight (and what that causes), as a live node would. */
  flush(): void {
    while (this.alive && this.inFlight.length > 0) {
      const { from, to, bytes } = this.inFlight.shift()!;
      if (!this.present.has(to) || !this.present.has(from)) continue;
      const packet = decodePacket(bytes)!;
      this.dispatch(from, to, packet);
    }
  }

  kill(): void {
    this.alive = false;
    this.inFlight = [];
    this.present.clear();
  }

  /** `who` connected to the new node: everyone already there learns of it, and it of them. */
  arrive(who: string): void {
    this.alive = true;
    const others = [...this.present];
    this.present.add(who);
    for (const other of others) {
      this.senders[other]!.peerPresent(who);
      this.senders[who]!.peerPresent(other);
    }
  }

  private transmit(from: string, bytes: Uint8Array, to?: string[]): void {
    if (!this.alive || !this.present.has(from)) return;
    for (const target of to ?? [...this.present].filter((p) => p !== from))
      this.inFlight.push({ from, to: target, bytes });
  }

  /** A participant without the library (the bot) has neither half: it ignores the packets. */
  private dispatch(from: string, to: string, packet: Packet): void {
    if (packet.kind === 'message') this.receivers[to]?.onMessage(from, packet);
    if (packet.kind === 'sync') this.receivers[to]?.onSync(from, packet.epoch, packet.from);
    if (packet.kind === 'ack') this.senders[to]?.onAck(from, packet.epoch, packet.upTo);
  }
}

/** Lets the receivers' batched acknowledgements go out and be delivered. */
function settle(net: Network): void {
  net.flush();
  jest.advanceTimersByTime(ACK_DELAY_MS);
  net.flush();
}

describe('reliable data across a move', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  function connectedPair(maxQueued?: number): Network {
    const net = new Network(maxQueued);
    net.senders.A!.peerPresent('B');
    net.senders.B!.peerPresent('A');
    settle(net);
    return net;
  }

  it('delivers every message once and in order through a node death with messages in flight and during the move', () => {
    const net = connectedPair();
    for (let n = 1; n <= 40; n++) {
      net.send('A', String(n));
      if (n % 3 === 0) settle(net);
    }
    // 40 was sent but not flushed, 38-39 too: in flight when the node dies, with their acks.
    net.kill();
    for (let n = 41; n <= 60; n++) net.send('A', String(n)); // typed during the move
    net.arrive('B');
    net.arrive('A');
    for (let n = 61; n <= 80; n++) {
      net.send('A', String(n));
      settle(net);
    }
    settle(net);
    expect(net.delivered.B!.map((m) => Number(m.text))).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    // Messages the move held back (or that were sent again) are marked; the ones before it are not.
    expect(net.delivered.B!.filter((m) => m.delayed).map((m) => Number(m.text))).toEqual(
      expect.arrayContaining([41, 60]),
    );
    expect(net.delivered.B!.slice(0, 30).some((m) => m.delayed)).toBe(false);
    expect(net.senders.A!.queued).toBe(0);
  });

  it('a new message overtaking the resends is held until the gap before it is filled', () => {
    const net = connectedPair();
    net.send('A', '1');
    net.kill();
    net.send('A', '2');
    // A is back first; B's arrival triggers the resend, but A's new message goes out before it is flushed.
    net.arrive('A');
    net.present.add('B');
    net.send('A', '3'); // broadcast to B, ahead of the resends A sends when it sees B
    net.senders.A!.peerPresent('B');
    net.senders.B!.peerPresent('A');
    settle(net);
    expect(net.delivered.B!.map((m) => m.text)).toEqual(['1', '2', '3']);
  });

  it('a receiver that stops acknowledging on a live node is sent its messages again, and deduplicates', () => {
    const net = connectedPair();
    net.send('A', '1');
    net.send('A', '2');
    // The packets are lost without the node dying (the receiver's own connection blipped).
    (net as unknown as { inFlight: unknown[] }).inFlight = [];
    jest.advanceTimersByTime(RETRANSMIT_AFTER_MS + 1);
    net.senders.A!.tick();
    settle(net);
    net.senders.A!.tick();
    settle(net);
    expect(net.delivered.B!.map((m) => m.text)).toEqual(['1', '2']);
    expect(net.senders.A!.queued).toBe(0);
  });

  it('the queue is bounded: past it send() throws queue-full and keeps nothing; acknowledged messages make room', () => {
    const net = connectedPair(3);
    net.kill();
    for (const n of ['1', '2', '3']) net.send('A', n);
    expect(() => net.send('A', '4')).toThrow(expect.objectContaining({ code: 'queue-full' }));
    net.arrive('B');
    net.arrive('A');
    settle(net);
    net.send('A', '5');
    settle(net);
    expect(net.delivered.B!.map((m) => m.text)).toEqual(['1', '2', '3', '5']);
  });

  it("a sync lost on the way (the newcomer's data channel was not open yet) is sent again until acknowledged", () => {
    const net = new Network();
    net.senders.A!.peerPresent('B');
    (net as unknown as { inFlight: unknown[] }).inFlight = []; // the SFU dropped it
    net.send('A', 'first');
    (net as unknown as { inFlight: unknown[] }).inFlight = [];
    jest.advanceTimersByTime(SYNC_RETRY_MS + 1);
    net.senders.A!.tick();
    settle(net);
    net.send('A', 'second');
    settle(net);
    expect(net.delivered.B!.map((m) => m.text)).toEqual(['first', 'second']);
    expect(net.senders.A!.peers).toEqual(['B']);
  });

  it('a participant without the library (it never acknowledges) stops holding the queue after PEER_CONFIRM_MS', () => {
    const net = connectedPair();
    net.present.add('bot');
    net.senders.A!.peerPresent('bot');
    net.send('A', 'hello');
    settle(net);
    expect(net.senders.A!.queued).toBe(1); // B acknowledged; the bot never will
    jest.advanceTimersByTime(PEER_CONFIRM_MS + 1);
    net.senders.A!.tick();
    expect(net.senders.A!.peers).toEqual(['B']);
    expect(net.senders.A!.queued).toBe(0);
  });

  it('a receiver that joins later gets only what was sent after it arrived', () => {
    const net = connectedPair();
    net.send('A', 'before');
    settle(net);
    net.present.add('C');
    net.receivers.C = new ReliableReceiver({
      deliver: (from, message) =>
        net.delivered.B!.push({ from: `C<-${from}`, text: decodeText(message.payload), delayed: false }),
      ack: () => undefined,
    });
    net.senders.A!.peerPresent('C');
    net.send('A', 'after');
    settle(net);
    expect(net.delivered.B!.filter((m) => m.from === 'C<-A').map((m) => m.text)).toEqual(['after']);
  });
});

describe('envelope', () => {
  it('round-trips a message with its topic, flags and payload, and marks a copy delayed', () => {
    const encoded = encodePacket({
      kind: 'message',
      epoch: 0xfffffffe,
      seq: 42,
      reliable: true,
      delayed: false,
      text: true,
      sentAt: 1_700_000_000_123.5,
      topic: 'chat ✓',
      payload: new TextEncoder().encode('hi'),
    });
    expect(decodePacket(encoded)).toEqual(
      expect.objectContaining({
        kind: 'message',
        epoch: 0xfffffffe,
        seq: 42,
        topic: 'chat ✓',
        delayed: false,
        text: true,
      }),
    );
    expect(decodePacket(markDelayed(encoded))).toEqual(expect.objectContaining({ delayed: true, seq: 42 }));
    expect(decodePacket(encodePacket({ kind: 'ack', epoch: 7, upTo: 9 }))).toEqual({ kind: 'ack', epoch: 7, upTo: 9 });
    expect(decodePacket(new Uint8Array([9, 9, 9, 9, 9]))).toBeUndefined();
  });
});
