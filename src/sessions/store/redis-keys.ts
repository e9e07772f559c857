// Every key the project writes to Redis, in one place. The prefix lets a shared Redis hold other things.
export const KEY_PREFIX = 'sr:';

export const redisKeys = {
  session: (id: string) => `${KEY_PREFIX}session:${id}`,
  /** What a session adds to its node's load: {url, participants}, absent while it waits for a node. */
  contribution: (id: string) => `${KEY_PREFIX}load-of:${id}`,
  /** Prefix of the per-node session sets; the Lua scripts build the full key from it. */
  byNodePrefix: `${KEY_PREFIX}node-sessions:`,
  byNode: (url: string) => `${KEY_PREFIX}node-sessions:${url}`,
  ids: `${KEY_PREFIX}sessions`,
  loads: `${KEY_PREFIX}node-load`,
  lease: (id: string) => `${KEY_PREFIX}lease:${id}`,
};
