import { describe, expect, it } from '@jest/globals';
import { decodeLiveKitNode, encodeLiveKitNode } from './livekit-node.codec';

/** protobuf wire bytes written by hand from livekit_internal.proto's field numbers, not by the codec. */
function wire(): Uint8Array {
  const str = (field: number, value: string) => [(field << 3) | 2, value.length, ...Buffer.from(value)];
  const varint = (field: number, value: number) => {
    const bytes = [(field << 3) | 0];
    for (let v = value; ; v = Math.floor(v / 128)) {
      if (v < 128) return [...bytes, v];
      bytes.push((v % 128) | 128);
    }
  };
  const stats = [...varint(1, 1_700_000_000), ...varint(2, 1_700_000_123), ...varint(3, 7)];
  return Uint8Array.from([
    ...str(1, 'ND_k3Rw9'),
    ...str(2, '127.0.0.21'),
    ...varint(3, 4),
    (4 << 3) | 2, // field 4 (stats), length-delimited
    stats.length,
    ...stats,
    ...varint(5, 0),
    ...varint(6, 1),
    ...str(7, 'local'),
  ]);
}

describe('decodeLiveKitNode', () => {
  it("reads id, IP, state and the stats' time from a node entry as LiveKit writes it, skipping the rest", () => {
    expect(decodeLiveKitNode(wire())).toEqual({
      id: 'ND_k3Rw9',
      ip: '127.0.0.21',
      state: 'serving',
      updatedAtMs: 1_700_000_123_000,
    });
  });

  it('refuses bytes that are not a node entry', () => {
    expect(() => decodeLiveKitNode(Buffer.from('{"id":"x"}'))).toThrow();
    expect(() => decodeLiveKitNode(new Uint8Array())).toThrow(/no id or ip/);
  });

  it('writes what it reads (specs stand in for a node with it)', () => {
    const entry = { id: 'ND_1', ip: '10.0.0.7', updatedAtMs: 1_700_000_000_000 };
    expect(decodeLiveKitNode(encodeLiveKitNode(entry))).toEqual({ ...entry, state: 'serving' });
  });
});
