import { DataPacket, DataPacket_Kind } from '@livekit/protocol';

/** livekit-client's data channel labels. */
export const RELIABLE_LABEL = '_reliable';
export const LOSSY_LABEL = '_lossy';
/** Packets held while a subscriber's channel opens (a newcomer is sent data before it is up). */
export const MAX_PENDING_PACKETS = 256;

/**
 * A packet a client sent on one of its data channels, with the sender stamped by the node: receivers
 * trust the node, not the sender, for who sent it (as on LiveKit), and the channel it came on for its
 * kind. Undefined when it is not a packet.
 */
export function receivedPacket(
  label: string,
  data: string | Buffer,
  sender: { identity: string; sid: string },
): DataPacket | undefined {
  if ((label !== RELIABLE_LABEL && label !== LOSSY_LABEL) || typeof data === 'string') return undefined;
  const packet = DataPacket.fromBinary(data);
  packet.participantIdentity = sender.identity;
  packet.participantSid = sender.sid;
  packet.kind = label === LOSSY_LABEL ? DataPacket_Kind.LOSSY : DataPacket_Kind.RELIABLE;
  if (packet.value.case === 'user') {
    packet.value.value.participantIdentity = sender.identity;
    packet.value.value.participantSid = sender.sid;
  }
  return packet;
}
