import { describe, expect, it } from '@jest/globals';
import { decodeLiveKitNode, encodeLiveKitNode } from './livekit-node';

/** Protobuf wire format by hand: a tag, then a varint or a length-delimited payload. */
const varint = (value: number): number[] => {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  return [...bytes, value];
};
const numberField = (field: number, value: number) => [...varint(field * 8), ...varint(value)];
const bytesField = (field: number, payload: number[]) => [
  ...varint(field * 8 + 2),
  ...varint(payload.length),
  ...payload,
];
const text = (value: string) => [...Buffer.from(value)];

describe(decodeLiveKitNode.name, () => {
  it('reads id, ip, state and the stats times, skipping every other field', () => {
    const stats = [...numberField(1, 1_796_300_000), ...numberField(2, 1_796_300_042), ...numberField(3, 7)];
    const node = Uint8Array.from([
      ...bytesField(1, text('ND_abc')),
      ...bytesField(2, text('127.0.0.41')),
      ...numberField(3, 2), // num_cpus
      ...bytesField(4, stats),
      ...numberField(6, 1),
      ...bytesField(7, text('eu')), // region
      ...[(9 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8], // a fixed64 field a later LiveKit might add
    ]);
    expect(decodeLiveKitNode(node)).toEqual({
      id: 'ND_abc',
      ip: '127.0.0.41',
      state: 'SERVING',
      startedAt: 1_796_300_000,
      updatedAt: 1_796_300_042,
    });
  });

  it('refuses what is not a node rather than inventing one', () => {
    expect(() => decodeLiveKitNode(Uint8Array.from(bytesField(2, text('127.0.0.41'))))).toThrow(/no id/);
    expect(() => decodeLiveKitNode(Uint8Array.from([0x0a, 10, 65]))).toThrow(/truncated field/);
    expect(() => decodeLiveKitNode(Uint8Array.from([0x08, 0x80]))).toThrow(/truncated varint/);
  });

  it('reads what a spec standing in for a node writes', () => {
    const node = { id: 'ND_1', ip: '10.0.0.7', startedAt: 1_796_300_000, updatedAt: 1_796_300_002 };
    expect(decodeLiveKitNode(encodeLiveKitNode(node))).toEqual({ ...node, state: 'SERVING' });
  });
});
