import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SID_LENGTH = 12;

export type SidPrefix = 'RM_' | 'PA_' | 'TR_' | 'EV_';

/** LiveKit-shaped ids: livekit-client relies on the PA_ / TR_ prefixes to map incoming media. */
export function newSid(prefix: SidPrefix): string {
  const bytes = randomBytes(SID_LENGTH);
  let id = prefix;
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return id;
}
