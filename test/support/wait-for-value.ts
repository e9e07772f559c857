/** Polls `pick` every 20 ms until it gives a value (not undefined); fails after `ms`, naming `what`. */
export async function waitForValue<T>(
  pick: () => T | undefined | Promise<T | undefined>,
  ms: number,
  what = 'a value',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await pick();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
