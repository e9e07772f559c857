// LiveKit's node registry entry, `livekit.Node` in livekit_internal.proto (protocol as pinned by
// livekit-server v1.13.5), which the JS protocol package leaves out: read by the backend in cluster mode
// and by the media-cluster wing, written by specs that stand in for a node. Dependency-free.

export interface LiveKitNodeEntry {
  id: string;
  ip: string;
  state: 'STARTING_UP' | 'SERVING' | 'SHUTTING_DOWN' | 'SUSPENDED' | 'UNKNOWN';
  /** Unix seconds, as LiveKit writes them (stats.started_at, stats.updated_at: every ~2 s while alive). */
  startedAt: number;
  updatedAt: number;
}

/** `livekit.NodeState`, by number. */
const NODE_STATES: Array<LiveKitNodeEntry['state']> = ['STARTING_UP', 'SERVING', 'SHUTTING_DOWN', 'SUSPENDED'];

/**
 * The fields of a protobuf `livekit.Node` the cluster needs: id (1), ip (2), stats (4: started_at 1,
 * updated_at 2) and state (6). Every other field is skipped by its wire type, so a newer LiveKit that
 * adds fields still decodes.
 */
export function decodeLiveKitNode(bytes: Uint8Array): LiveKitNodeEntry {
  const node: LiveKitNodeEntry = { id: '', ip: '', state: 'STARTING_UP', startedAt: 0, updatedAt: 0 };
  for (const field of fields(bytes)) {
    if (field.number === 1 && field.bytes) node.id = Buffer.from(field.bytes).toString('utf8');
    else if (field.number === 2 && field.bytes) node.ip = Buffer.from(field.bytes).toString('utf8');
    else if (field.number === 6 && field.varint !== undefined) node.state = NODE_STATES[field.varint] ?? 'UNKNOWN';
    else if (field.number === 4 && field.bytes)
      for (const stat of fields(field.bytes)) {
        if (stat.number === 1 && stat.varint !== undefined) node.startedAt = stat.varint;
        else if (stat.number === 2 && stat.varint !== undefined) node.updatedAt = stat.varint;
      }
  }
  if (node.id === '') throw new Error('not a livekit.Node: no id');
  return node;
}

interface Field {
  number: number;
  varint?: number;
  bytes?: Uint8Array;
}

/** Protobuf wire format, one level: varints (as numbers; Unix seconds fit), length-delimited, fixed 32/64. */
function* fields(bytes: Uint8Array): Generator<Field> {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 63) throw new Error('not a livekit.Node: truncated varint');
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === 0) yield { number, varint: varint() };
    else if (wireType === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new Error('not a livekit.Node: truncated field');
      yield { number, bytes: bytes.subarray(at, at + length) };
      at += length;
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
      if (at > bytes.length) throw new Error('not a livekit.Node: truncated field');
    } else throw new Error(`not a livekit.Node: wire type ${wireType}`);
  }
}

/** The bytes a LiveKit node writes for itself (the fields above only), for specs standing in for a node. */
export function encodeLiveKitNode(
  node: Omit<LiveKitNodeEntry, 'state'> & { state?: LiveKitNodeEntry['state'] },
): Uint8Array {
  const varint = (value: number): number[] => {
    const bytes: number[] = [];
    for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
    return [...bytes, value];
  };
  const number = (field: number, value: number) => [...varint(field * 8), ...varint(value)];
  const bytes = (field: number, payload: number[]) => [...varint(field * 8 + 2), ...varint(payload.length), ...payload];
  const stats = [...number(1, node.startedAt), ...number(2, node.updatedAt)];
  return Uint8Array.from([
    ...bytes(1, [...Buffer.from(node.id)]),
    ...bytes(2, [...Buffer.from(node.ip)]),
    ...bytes(4, stats),
    ...number(6, Math.max(0, NODE_STATES.indexOf(node.state ?? 'SERVING'))),
  ]);
}
