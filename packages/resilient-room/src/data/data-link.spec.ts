import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConnectionState, DataPacket_Kind, type RemoteParticipant, type Room } from 'livekit-client';
import { DataLink, type DataLinkHost } from './data-link';
import { ENVELOPE_TOPIC, decodePacket, encodePacket } from './envelope';
import { ACK_DELAY_MS } from './reliable-receiver';

/**
 * A Room as DataLink uses it. Like livekit-client's, its publishData before the Room is connected fails,
 * and that failure sticks: the SDK memoizes its wait for the publisher connection, so a publishData made
 * before the join answer (no peer connections yet) fails every later one on that Room with "PC manager is
 * closed".
 */
class FakeRoom {
  state = ConnectionState.Connecting;
  readonly published: Array<{ kind: string; to?: string[] }> = [];
  private stuck?: Error;
  readonly remoteParticipants = new Map<string, RemoteParticipant>();
  readonly localParticipant = {
    publishData: async (bytes: Uint8Array, options: { destinationIdentities?: string[] }): Promise<void> => {
      if (this.state !== ConnectionState.Connected) this.stuck ??= new Error('PC manager is closed');
      if (this.stuck) throw this.stuck;
      this.published.push({ kind: decodePacket(bytes)!.kind, to: options.destinationIdentities });
    },
  };

  constructor(...identities: string[]) {
    for (const identity of identities) this.remoteParticipants.set(identity, { identity } as RemoteParticipant);
  }

  asRoom(): Room {
    return this as unknown as Room;
  }
}

describe('DataLink across a move', () => {
  let connected: boolean;
  let warnings: string[];
  let link: DataLink;
  const host: DataLinkHost = {
    connected: () => connected,
    deliver: () => undefined,
    bye: () => undefined,
    log: (_level, message) => warnings.push(message),
  };
  const ada = { identity: 'ada' } as RemoteParticipant;
  const fromAda = (packet: Parameters<typeof encodePacket>[0]) =>
    link.onData(encodePacket(packet), ada, DataPacket_Kind.RELIABLE, ENVELOPE_TOPIC);

  beforeEach(() => {
    jest.useFakeTimers();
    connected = true;
    warnings = [];
    link = new DataLink(host);
  });
  afterEach(() => {
    link.stop();
    jest.useRealTimers();
  });

  it("sends nothing on the next Room before it is connected, so an acknowledgement due during the move doesn't break it", async () => {
    const first = new FakeRoom('ada');
    first.state = ConnectionState.Connected;
    link.attach(first.asRoom());
    // Ada's messages arrive every 50 ms: an acknowledgement is always due within ACK_DELAY_MS.
    fromAda({ kind: 'sync', epoch: 7, from: 1 });
    const message = { kind: 'message', epoch: 7, reliable: true, delayed: false, text: true, sentAt: 0 } as const;
    fromAda({ ...message, seq: 1, payload: new TextEncoder().encode('1') });
    // The node dies; the move attaches the next Room, which is still waiting for its join answer.
    connected = false;
    first.state = ConnectionState.Reconnecting;
    const next = new FakeRoom('ada');
    link.attach(next.asRoom());
    await jest.advanceTimersByTimeAsync(ACK_DELAY_MS * 2);
    // Connected on the next node: a chat line typed during the move, then Ada's resend after hers.
    next.state = ConnectionState.Connected;
    connected = true;
    link.send('typed during the move', {});
    link.peerPresent('ada');
    fromAda({ kind: 'sync', epoch: 7, from: 1 });
    fromAda({ ...message, seq: 2, delayed: true, payload: new TextEncoder().encode('2') });
    await jest.advanceTimersByTimeAsync(ACK_DELAY_MS * 2);

    expect(warnings).toEqual([]);
    expect(next.published.map((p) => p.kind)).toEqual(expect.arrayContaining(['sync', 'message', 'ack']));
  });
});
