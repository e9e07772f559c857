import { ConnectionState, DataPacket_Kind, type RemoteParticipant, type Room } from 'livekit-client';
import { ResilientRoomError } from '../errors';
import type { ReceivedMessage, SendOptions } from '../resilient-room.types';
import {
  ENVELOPE_TOPIC,
  MAX_DATA_PACKET_BYTES,
  MESSAGE_HEADER_BYTES,
  decodePacket,
  decodeText,
  encodePacket,
  encodeText,
  encodeTopic,
  type MessagePacket,
} from './envelope';
import { ReliableReceiver } from './reliable-receiver';
import { DEFAULT_MAX_QUEUED_MESSAGES, ReliableSender } from './reliable-sender';

/** How often the sender looks for receivers that stopped acknowledging. */
export const DATA_TICK_MS = 500;
/** leave() waits this long at most for its bye to go out on a live node. */
export const BYE_TIMEOUT_MS = 300;

export interface DataLinkHost {
  /** The current Room is connected and no move is under way. */
  connected(): boolean;
  deliver(message: ReceivedMessage): void;
  /** `identity` left with leave(): a departure, not a move. */
  bye(identity: string): void;
  log(level: 'info' | 'warn', message: string): void;
}

/**
 * Data across moves: the app's send() and dataReceived over whichever Room is current. Reliable
 * messages go through ReliableSender / ReliableReceiver (numbered, acknowledged end to end, resent
 * after a move); lossy ones are one try on the current node. Packets are published one after another
 * per Room, so they leave in the order they were sent.
 */
export class DataLink {
  private readonly sender: ReliableSender;
  private readonly receiver: ReliableReceiver;
  private room?: Room;
  private chain: Promise<void> = Promise.resolve();
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(
    private readonly host: DataLinkHost,
    maxQueued = DEFAULT_MAX_QUEUED_MESSAGES,
  ) {
    const epoch = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
    this.sender = new ReliableSender(
      epoch,
      {
        connected: () => host.connected(),
        isPresent: (identity) => host.connected() && !!this.room?.remoteParticipants.has(identity),
        transmit: (bytes, to) => this.transmit(bytes, true, to),
      },
      maxQueued,
    );
    this.receiver = new ReliableReceiver({
      deliver: (identity, message) => host.deliver(this.received(identity, message)),
      ack: (identity, ackEpoch, upTo) =>
        this.transmit(encodePacket({ kind: 'ack', epoch: ackEpoch, upTo }), true, [identity]),
    });
    this.ticker = setInterval(() => this.sender.tick(), DATA_TICK_MS);
  }

  get queued(): number {
    return this.sender.queued;
  }

  /** Identities that receive this participant's reliable messages (the library runs on their side). */
  get peers(): string[] {
    return this.sender.peers;
  }

  /** `room` is the current Room from now on; packets of earlier ones are not sent. */
  attach(room: Room): void {
    this.room = room;
    this.chain = Promise.resolve();
  }

  /** Checks and queues (reliable) or sends (lossy) one message; throws ResilientRoomError. */
  send(payload: Uint8Array | string, options: SendOptions): void {
    const text = typeof payload === 'string';
    const bytes = text ? encodeText(payload) : payload;
    const size = MESSAGE_HEADER_BYTES + encodeTopic(options.topic).byteLength + bytes.byteLength;
    if (size > MAX_DATA_PACKET_BYTES) {
      throw new ResilientRoomError(
        'payload-too-large',
        `send(): ${bytes.byteLength} bytes of payload, with the topic and the library's ${MESSAGE_HEADER_BYTES}-byte header, make ${size} bytes: over LiveKit's limit of ${MAX_DATA_PACKET_BYTES} bytes for one data packet. Nothing was sent; split the payload.`,
      );
    }
    const to = options.destinationIdentities;
    if (options.reliable ?? true) {
      this.sender.send({ topic: options.topic, payload: bytes, text, to });
      return;
    }
    // Lossy: one try on the node we are on; nothing is kept across a move.
    if (!this.host.connected()) return;
    const packet = encodePacket({
      kind: 'message',
      epoch: this.sender.epoch,
      seq: 0,
      reliable: false,
      delayed: false,
      text,
      sentAt: Date.now(),
      topic: options.topic,
      payload: bytes,
    });
    this.transmit(packet, false, to);
  }

  /** A participant is in the current, connected Room: it gets where our messages for it stand. */
  peerPresent(identity: string): void {
    this.sender.peerPresent(identity);
  }

  peerGone(identity: string): void {
    this.sender.peerGone(identity);
    this.receiver.forget(identity);
  }

  /** A DataReceived of the current Room. */
  onData(payload: Uint8Array, participant?: RemoteParticipant, kind?: DataPacket_Kind, topic?: string): void {
    if (topic !== ENVELOPE_TOPIC) {
      // A peer without the library (another SDK, a bot): passed on as LiveKit gave it.
      this.host.deliver({
        payload,
        topic,
        from: participant?.identity,
        participant,
        reliable: kind !== DataPacket_Kind.LOSSY,
        delayed: false,
      });
      return;
    }
    const packet = decodePacket(payload);
    const identity = participant?.identity;
    if (!packet || !identity) return;
    this.sender.heardFrom(identity);
    switch (packet.kind) {
      case 'message':
        return this.receiver.onMessage(identity, packet);
      case 'ack':
        return this.sender.onAck(identity, packet.epoch, packet.upTo);
      case 'sync':
        return this.receiver.onSync(identity, packet.epoch, packet.from);
      case 'bye':
        return this.host.bye(identity);
      default: {
        const unreachable: never = packet;
        return unreachable;
      }
    }
  }

  /** Tells everyone this is a leave, not a move (best effort: a dead node takes it with it). */
  async bye(): Promise<void> {
    if (!this.host.connected()) return;
    this.transmit(encodePacket({ kind: 'bye', epoch: this.sender.epoch }), true);
    await Promise.race([this.chain, new Promise((resolve) => setTimeout(resolve, BYE_TIMEOUT_MS))]);
  }

  stop(): void {
    clearInterval(this.ticker);
    this.receiver.stop();
    this.room = undefined;
  }

  private received(identity: string, message: MessagePacket): ReceivedMessage {
    return {
      payload: message.payload,
      text: message.text ? decodeText(message.payload) : undefined,
      topic: message.topic,
      from: identity,
      participant: this.room?.remoteParticipants.get(identity),
      reliable: message.reliable,
      delayed: message.delayed,
      sentAt: message.sentAt,
    };
  }

  /**
   * Publishes on the current Room once it is connected; before that (its join answer not in yet, or the
   * SDK reconnecting) the packet is dropped: reliable messages and syncs are sent again when the Room is
   * connected, and an acknowledgement is sent again for the resends that follow. A publishData made then
   * would do worse than fail: livekit-client keeps that failure ("PC manager is closed") for every later
   * publishData on the Room.
   */
  private transmit(bytes: Uint8Array<ArrayBuffer>, reliable: boolean, to?: string[]): void {
    const room = this.room;
    if (room?.state !== ConnectionState.Connected) return;
    this.chain = this.chain.then(() =>
      room.localParticipant
        .publishData(bytes, { reliable, topic: ENVELOPE_TOPIC, destinationIdentities: to })
        .catch((err: unknown) => {
          // A reliable message stays queued until acknowledged, so a failed publish costs a resend, not a loss.
          if (room === this.room)
            this.host.log('warn', `data packet not sent: ${err instanceof Error ? err.message : String(err)}`);
        }),
    );
  }
}
