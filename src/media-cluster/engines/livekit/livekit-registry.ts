import Redis from 'ioredis';
import type { RegisteredLiveKitNode } from '../../api';
import { decodeLiveKitNode } from '../../../shared/livekit-node';

/** LiveKit's hash of node id -> protobuf `livekit.Node` (pkg/routing/redisrouter.go, v1.13.5). */
const NODES_KEY = 'nodes';
/** The registry is read at start-up and by tests; a Redis that does not answer is an error, not a wait. */
const COMMAND_TIMEOUT_MS = 2_000;

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
