// Every key the project writes to Redis, in one place. The prefix lets a shared Redis hold other things.
export const KEY_PREFIX = 'sr:';

export const redisKeys = {
  /** The session's JSON without its participants. */
  session: (id: string) => `${KEY_PREFIX}session:${id}`,
  /** Its participants: a hash, identity -> JSON, so a join writes one field whatever the session's size. */
  participants: (id: string) => `${KEY_PREFIX}participants:${id}`,
  /** Its node, the participants it adds to that node's load (counted = 0 while waiting), its active count, its unconfirmed invites. */
  contribution: (id: string) => `${KEY_PREFIX}load-of:${id}`,
  /** Prefix of the per-node session sets; the Lua scripts build the full key from it. */
  byNodePrefix: `${KEY_PREFIX}node-sessions:`,
  byNode: (url: string) => `${KEY_PREFIX}node-sessions:${url}`,
  ids: `${KEY_PREFIX}sessions`,
  loads: `${KEY_PREFIX}node-load`,
  lease: (id: string) => `${KEY_PREFIX}lease:${id}`,
  /** What the sweep looks for (sweep-deadlines.ts), kept by the writes: `<session> <identity>` scored by deadline. */
  due: `${KEY_PREFIX}sweep-due`,
  /** A session's entries in `due`: identity -> deadline, so a write finds and replaces them. */
  dueOf: (id: string) => `${KEY_PREFIX}sweep-due-of:${id}`,
  /** Sessions whose room the sweep watches even when occupied (watchesRoom). */
  watched: `${KEY_PREFIX}sweep-watched`,
  /** Sessions waiting for a node. */
  waiting: `${KEY_PREFIX}waiting`,
  /** Which version of those indexes covers every session (redis-session-store.ts). */
  indexVersion: `${KEY_PREFIX}index-version`,
  /** A LiveKit webhook's event id, claimed or applied (webhooks/applied-event-ids.ts). */
  webhookEvent: (id: string) => `${KEY_PREFIX}webhook-event:${id}`,
  /** Participants who said they lost their media path to a session's node: identity scored by when. */
  lossReports: (id: string, nodeUrl: string) => `${KEY_PREFIX}loss-reports:${id}:${nodeUrl}`,
};
