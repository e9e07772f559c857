// LiveKit's own cluster keeps its routing in Redis (livekit-server v1.13.5, pkg/routing/redisrouter.go):
// `nodes` maps a node id to its protobuf `livekit.Node`, `room_node_map` a room name to the node id
// holding it. The worker reads them to register with every member, and a job to find its room's own
// node. Read only: the worker never writes into LiveKit's Redis.
import { Redis } from 'ioredis';

export const NODES_KEY = 'nodes';
export const ROOM_NODE_KEY = 'room_node_map';
/** A read that takes longer than this fails (the caller tries again at its next turn). */
const COMMAND_TIMEOUT_MS = 1_000;

/** What the worker needs of a member: LiveKit's id for it and the address it was started with (`rtc.node_ip`). */
export interface ClusterMember {
  id: string;
  ip: string;
}

export class LiveKitRegistry {
  private readonly redis: Redis;
  /** The connection's latest error, for the message of the read it fails. */
  private lastError: string | undefined;

  constructor(url: string) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, lazyConnect: true });
    // Each failure surfaces on the read it fails; without a listener ioredis would print every retry.
    this.redis.on('error', (error: Error) => (this.lastError = error.message));
  }

  /** Every registered member; an entry that does not decode is left out. */
  async members(): Promise<ClusterMember[]> {
    const entries = await this.read(() => this.redis.hgetallBuffer(NODES_KEY));
    return Object.values(entries).flatMap((bytes) => {
      const member = decodeClusterMember(bytes);
      return member ? [member] : [];
    });
  }

  /** The id of the node holding `room`; undefined when LiveKit has no room by that name. */
  async roomNodeId(room: string): Promise<string | undefined> {
    return (await this.read(() => this.redis.hget(ROOM_NODE_KEY, room))) ?? undefined;
  }

  /** The member registered under `id`; undefined once it left `nodes` (stopped, or taken out as dead). */
  async member(id: string): Promise<ClusterMember | undefined> {
    const bytes = await this.read(() => this.redis.hgetBuffer(NODES_KEY, id));
    return bytes ? decodeClusterMember(bytes) : undefined;
  }

  close(): void {
    this.redis.disconnect();
  }

  private async read<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`LiveKit's Redis cannot be read: ${this.lastError ?? why}`, { cause: error });
    }
  }
}

/**
 * Fields 1 (id) and 2 (ip) of a protobuf `livekit.Node` (livekit_internal.proto); every other field is
 * skipped by its wire type. Undefined for bytes that are not such a message.
 */
export function decodeClusterMember(bytes: Uint8Array): ClusterMember | undefined {
  const member: ClusterMember = { id: '', ip: '' };
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift <= 63; shift += 7) {
      if (at >= bytes.length) throw new RangeError('truncated varint');
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new RangeError('varint too long');
  };
  try {
    while (at < bytes.length) {
      const tag = varint();
      const wireType = tag % 8;
      if (wireType === 0) varint();
      else if (wireType === 1 || wireType === 5) at += wireType === 1 ? 8 : 4;
      else if (wireType === 2) {
        const length = varint();
        const text = Buffer.from(bytes.subarray(at, at + length)).toString('utf8');
        at += length;
        if (tag >>> 3 === 1) member.id = text;
        else if (tag >>> 3 === 2) member.ip = text;
      } else return undefined;
      if (at > bytes.length) return undefined;
    }
  } catch {
    return undefined;
  }
  return member.id && member.ip ? member : undefined;
}
