import Redis from 'ioredis';
import type { RegisteredLiveKitNode } from '../../api';

/** LiveKit's hash of node id -> protobuf `livekit.Node` (pkg/routing/redisrouter.go, v1.13.5). */
const NODES_KEY = 'nodes';
/** The registry is read at start-up and by tests; a Redis that does not answer is an error, not a wait. */
const COMMAND_TIMEOUT_MS = 2_000;

/** `livekit.NodeState` (protocol livekit_internal.proto), by number. */
const NODE_STATES: Array<RegisteredLiveKitNode['state']> = ['STARTING_UP', 'SERVING', 'SHUTTING_DOWN', 'SUSPENDED'];

/** LiveKit's node registry in the Redis a cluster's nodes share: read only, never written. */
export class LiveKitRegistry {
  private readonly redis: Redis;

  private readonly where: string;
  private connectionError: string | undefined;

  constructor(url: string) {
    const parsed = new URL(url);
    this.where = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS });
    // Failures surface on the command that meets them (with the connection's own reason); without a
    // listener ioredis would print each retry.
    this.redis.on('error', (error: Error) => (this.connectionError = error.message));
  }

  /** Resolves once Redis answers; otherwise fails naming it (without its password). */
  async ping(): Promise<void> {
    try {
      await this.redis.ping();
    } catch (error) {
      throw new Error(
        `LiveKit's Redis ${this.where} does not answer (${this.connectionError ?? (error as Error).message})`,
        { cause: error },
      );
    }
  }

  async nodes(): Promise<RegisteredLiveKitNode[]> {
    const entries = await this.redis.hgetallBuffer(NODES_KEY);
    return Object.values(entries).map((value) => decodeLiveKitNode(value));
  }

  close(): void {
    this.redis.disconnect();
  }
}

/**
 * The fields of a protobuf `livekit.Node` the cluster needs: id (1), ip (2), stats (4: started_at 1,
 * updated_at 2) and state (6). Every other field is skipped by its wire type, so a newer LiveKit that
 * adds fields still decodes.
 */
export function decodeLiveKitNode(bytes: Uint8Array): RegisteredLiveKitNode {
  const node: RegisteredLiveKitNode = { id: '', ip: '', state: 'STARTING_UP', startedAt: 0, updatedAt: 0 };
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
