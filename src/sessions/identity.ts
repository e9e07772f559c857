import { randomBytes } from 'node:crypto';

/** A readable identity unique in its session: the name's slug plus a short random suffix. */
export function newIdentity(name: string, taken: (identity: string) => boolean): string {
  const slug =
    name
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 32) || 'guest';
  for (;;) {
    const identity = `${slug}-${randomBytes(3).toString('hex')}`;
    if (!taken(identity)) return identity;
  }
}
