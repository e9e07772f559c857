import { proto3 } from '@bufbuild/protobuf';

// LiveKit's node registry entry, `livekit.Node` in livekit_internal.proto (protocol as pinned by
// livekit-server v1.13.5). The JS protocol package leaves the internal messages out, so the fields the
// backend reads are declared here, with their numbers; anything else in an entry is skipped.

const NodeStats = proto3.makeMessageType('livekit.NodeStats', () => [
  { no: 1, name: 'started_at', kind: 'scalar', T: 3 /* int64 */ },
  { no: 2, name: 'updated_at', kind: 'scalar', T: 3 /* int64 */ },
]);

const Node = proto3.makeMessageType('livekit.Node', () => [
  { no: 1, name: 'id', kind: 'scalar', T: 9 /* string */ },
  { no: 2, name: 'ip', kind: 'scalar', T: 9 /* string */ },
  { no: 4, name: 'stats', kind: 'message', T: NodeStats },
  { no: 6, name: 'state', kind: 'scalar', T: 5 /* int32: NodeState */ },
]);

/** NodeState: STARTING_UP 0, SERVING 1, SHUTTING_DOWN 2, SUSPENDED 3. */
export type LiveKitNodeState = 'starting' | 'serving' | 'shutting-down' | 'suspended' | 'unknown';

export interface LiveKitNodeEntry {
  id: string;
  ip: string;
  state: LiveKitNodeState;
  /** When the node last wrote its stats (Unix ms; LiveKit writes them every 2 s). */
  updatedAtMs: number;
}

const STATES: readonly LiveKitNodeState[] = ['starting', 'serving', 'shutting-down', 'suspended'];

/** One `nodes` hash value (protobuf bytes); throws when it is not a livekit.Node with an id and an IP. */
export function decodeLiveKitNode(bytes: Uint8Array): LiveKitNodeEntry {
  const node = Node.fromBinary(bytes) as unknown as PlainNode;
  if (!node.id || !node.ip) throw new Error('not a LiveKit node entry (no id or ip)');
  return {
    id: node.id,
    ip: node.ip,
    state: STATES[node.state] ?? 'unknown',
    updatedAtMs: Number(node.stats?.updatedAt ?? 0n) * 1000,
  };
}

/** The bytes LiveKit writes for a node (for specs that stand in for a node's registration). */
export function encodeLiveKitNode(entry: Omit<LiveKitNodeEntry, 'state'> & { state?: number }): Uint8Array {
  return new Node({
    id: entry.id,
    ip: entry.ip,
    state: entry.state ?? 1,
    stats: new NodeStats({ updatedAt: BigInt(Math.floor(entry.updatedAtMs / 1000)) }),
  }).toBinary();
}

interface PlainNode {
  id: string;
  ip: string;
  state: number;
  stats?: { updatedAt: bigint };
}
