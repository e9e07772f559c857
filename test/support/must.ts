// For values a test's own logic guarantees (the node it started, the entry it just waited for): when
// the guarantee breaks, the failure names what was missing instead of a TypeError lines later.
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, found ${String(value)}`);
  return value;
}
