import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';

/**
 * A Lua script sent once and then called by its SHA1 (EVALSHA): the script text is not resent with
 * every call (it was a tenth of a join's CPU, writing it to the socket). A Redis that lost its script
 * cache (a restart) answers NOSCRIPT, and the script is sent again.
 */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Queued on a pipeline by its SHA1; a NOSCRIPT answer is that command's own error (see isNoScript). */
  queue(pipeline: ChainableCommander, keys: string[], args: Array<string | number>): void {
    pipeline.evalsha(this.sha, keys.length, ...keys, ...args);
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** Whether a command failed because Redis does not know the script (it lost its cache: a restart). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
