import { describe, expect, it } from '@jest/globals';
import { AddressLimits } from './address-limits';

const MINUTE_MS = 60_000;

/** A fake clock the spec moves by hand. */
function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

/** 2001:db8:<i>... : distinct IPv6-like addresses, as a /64 hands out by the billion. */
const ipv6 = (i: number) => `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::${(i % 7) + 1}`;

describe(AddressLimits.name, () => {
  it('refuses the handshake over the per-minute limit, and counts again once the minute is over', () => {
    const { time, now } = clock();
    const limits = new AddressLimits(0, 3, ['loopback'], now);
    expect([limits.admit('a'), limits.admit('a'), limits.admit('a')]).toEqual([undefined, undefined, undefined]);
    expect(limits.admit('a')).toBe('too many connection attempts from this address: at most 3 a minute');
    expect(limits.admit('b')).toBeUndefined(); // per address
    time.now += MINUTE_MS - 1;
    expect(limits.admit('a')).toBeDefined(); // the same minute
    time.now += 1;
    expect(limits.admit('a')).toBeUndefined(); // a new one
    expect([limits.admit('a'), limits.admit('a'), limits.admit('a')]).toEqual([
      undefined,
      undefined,
      'too many connection attempts from this address: at most 3 a minute',
    ]);
  });

  it('holds only the addresses of the last minute', () => {
    const { time, now } = clock();
    const limits = new AddressLimits(0, 60, ['loopback'], now);
    for (let i = 0; i < 1_000; i++) limits.admit(ipv6(i));
    time.now += MINUTE_MS / 2;
    for (let i = 1_000; i < 1_500; i++) limits.admit(ipv6(i));
    limits.admit(ipv6(0)); // within its minute: counted in its first window, which stays
    expect(limits.countedAddresses).toBe(1_500);
    time.now += MINUTE_MS / 2;
    limits.admit('198.51.100.7');
    expect(limits.countedAddresses).toBe(501); // the first thousand's minute is over; the later 500 and the new one
    time.now += MINUTE_MS;
    limits.admit('198.51.100.8');
    expect(limits.countedAddresses).toBe(1);
  });

  it('30,000 addresses within a minute cost a bounded amount of work per handshake, not a scan of every address', () => {
    const { time, now } = clock();
    const limits = new AddressLimits(32, 60, ['loopback'], now);
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < 30_000; i++) {
      time.now += 1;
      if (limits.admit(ipv6(i)) !== undefined) throw new Error(`address ${i} refused`);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    expect(limits.countedAddresses).toBe(30_000);
    // Linear work takes a few tens of ms here; a scan of the map on each handshake took seconds.
    expect(cpuMs).toBeLessThan(1_000);
  });

  it('a steady 30,000 new addresses a minute for five minutes: each window is forgotten once, at bounded cost', () => {
    const { time, now } = clock();
    const limits = new AddressLimits(32, 60, ['loopback'], now);
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < 150_000; i++) {
      time.now += 2; // 30,000 a minute
      if (limits.admit(ipv6(i)) !== undefined) throw new Error(`address ${i} refused`);
    }
    const cpu = process.cpuUsage(cpuBefore);
    expect(limits.countedAddresses).toBe(30_000);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(1_000);
  });
});
