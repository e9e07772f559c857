import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function newRejoinKey(): string {
  return randomBytes(24).toString('base64url');
}

export function hashRejoinKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `hash` is '' for a participant that has no rejoin key (the get-token call): nothing matches it. */
export function rejoinKeyMatches(key: unknown, hash: string): boolean {
  if (hash.length === 0) return false;
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) return false;
  return timingSafeEqual(Buffer.from(hashRejoinKey(key), 'hex'), Buffer.from(hash, 'hex'));
}
