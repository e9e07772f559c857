// The library's data packets, carried as LiveKit user packets on one topic of their own. A message
// carries the sender's epoch (one per ResilientRoom, so a page that joins again starts afresh) and, when
// reliable, a sequence number its receivers acknowledge; `sync` tells a receiver where the sender's
// messages for it start, `ack` is cumulative, `bye` announces a leave that is not a move.

/** The LiveKit topic of every packet the library sends; apps' own topics travel inside. */
export const ENVELOPE_TOPIC = 'resilient-room.v1';

/**
 * LiveKit's limit for one data packet's user payload (docs: "up to 15KiB"; the protocol's 16 KiB holds
 * LiveKit's own routing headers too). The library's header and the app's topic count against it.
 */
export const MAX_DATA_PACKET_BYTES = 15 * 1024;

const KIND_MESSAGE = 1;
const KIND_ACK = 2;
const KIND_SYNC = 3;
const KIND_BYE = 4;

const FLAG_TEXT = 1;
const FLAG_RELIABLE = 2;
const FLAG_DELAYED = 4;

/** kind, flags, epoch, seq, sentAt, topic length. */
export const MESSAGE_HEADER_BYTES = 1 + 1 + 4 + 4 + 8 + 2;

export interface MessagePacket {
  kind: 'message';
  epoch: number;
  /** 0 for lossy messages. */
  seq: number;
  reliable: boolean;
  /** Held back by a move, or sent again after one: the receiver shows it as delayed. */
  delayed: boolean;
  text: boolean;
  /** Sender's clock, epoch ms. */
  sentAt: number;
  topic?: string;
  payload: Uint8Array;
}
export interface AckPacket {
  kind: 'ack';
  /** The epoch of the sender being acknowledged. */
  epoch: number;
  upTo: number;
}
export interface SyncPacket {
  kind: 'sync';
  epoch: number;
  /** The first sequence number the sender keeps for this receiver. */
  from: number;
}
export interface ByePacket {
  kind: 'bye';
  epoch: number;
}
export type Packet = MessagePacket | AckPacket | SyncPacket | ByePacket;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeTopic(topic: string | undefined): Uint8Array {
  return topic ? encoder.encode(topic) : new Uint8Array(0);
}

export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function encodePacket(packet: Packet): Uint8Array<ArrayBuffer> {
  switch (packet.kind) {
    case 'message': {
      const topic = encodeTopic(packet.topic);
      const bytes = new Uint8Array(MESSAGE_HEADER_BYTES + topic.byteLength + packet.payload.byteLength);
      const view = new DataView(bytes.buffer);
      view.setUint8(0, KIND_MESSAGE);
      view.setUint8(
        1,
        (packet.text ? FLAG_TEXT : 0) | (packet.reliable ? FLAG_RELIABLE : 0) | (packet.delayed ? FLAG_DELAYED : 0),
      );
      view.setUint32(2, packet.epoch);
      view.setUint32(6, packet.seq);
      view.setFloat64(10, packet.sentAt);
      view.setUint16(18, topic.byteLength);
      bytes.set(topic, MESSAGE_HEADER_BYTES);
      bytes.set(packet.payload, MESSAGE_HEADER_BYTES + topic.byteLength);
      return bytes;
    }
    case 'ack':
    case 'sync': {
      const bytes = new Uint8Array(9);
      const view = new DataView(bytes.buffer);
      view.setUint8(0, packet.kind === 'ack' ? KIND_ACK : KIND_SYNC);
      view.setUint32(1, packet.epoch);
      view.setUint32(5, packet.kind === 'ack' ? packet.upTo : packet.from);
      return bytes;
    }
    case 'bye': {
      const bytes = new Uint8Array(5);
      const view = new DataView(bytes.buffer);
      view.setUint8(0, KIND_BYE);
      view.setUint32(1, packet.epoch);
      return bytes;
    }
    default: {
      const unreachable: never = packet;
      throw new Error(`unknown packet ${String(unreachable)}`);
    }
  }
}

/** The packet, or undefined for bytes that are not one (a peer on another version, or garbage). */
export function decodePacket(bytes: Uint8Array): Packet | undefined {
  if (bytes.byteLength < 5) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(0);
  if (kind === KIND_MESSAGE) {
    if (bytes.byteLength < MESSAGE_HEADER_BYTES) return undefined;
    const flags = view.getUint8(1);
    const topicLength = view.getUint16(18);
    if (MESSAGE_HEADER_BYTES + topicLength > bytes.byteLength) return undefined;
    const topic =
      topicLength > 0
        ? decodeText(bytes.subarray(MESSAGE_HEADER_BYTES, MESSAGE_HEADER_BYTES + topicLength))
        : undefined;
    return {
      kind: 'message',
      epoch: view.getUint32(2),
      seq: view.getUint32(6),
      sentAt: view.getFloat64(10),
      text: (flags & FLAG_TEXT) !== 0,
      reliable: (flags & FLAG_RELIABLE) !== 0,
      delayed: (flags & FLAG_DELAYED) !== 0,
      topic,
      payload: bytes.slice(MESSAGE_HEADER_BYTES + topicLength),
    };
  }
  if ((kind === KIND_ACK || kind === KIND_SYNC) && bytes.byteLength >= 9) {
    const epoch = view.getUint32(1);
    const value = view.getUint32(5);
    return kind === KIND_ACK ? { kind: 'ack', epoch, upTo: value } : { kind: 'sync', epoch, from: value };
  }
  if (kind === KIND_BYE) return { kind: 'bye', epoch: view.getUint32(1) };
  return undefined;
}

/** A copy of an encoded message with the delayed flag set (a message sent again, or held by a move). */
export function markDelayed(encoded: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const copy = encoded.slice();
  copy[1] = (copy[1] ?? 0) | FLAG_DELAYED;
  return copy;
}
