import { describe, expect, it } from '@jest/globals';
import { freePorts, isPortFree } from './ports';

describe('freePorts', () => {
  it('hands out different ports, all free once it returns', async () => {
    const ports = await freePorts(50);
    expect(ports).toHaveLength(50);
    expect(new Set(ports).size).toBe(50);
    for (const port of ports) expect(port).toBeGreaterThan(0);
    expect(await Promise.all(ports.slice(0, 5).map((port) => isPortFree(port)))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });
});
