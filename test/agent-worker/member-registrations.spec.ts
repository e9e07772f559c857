import { afterEach, describe, expect, it } from '@jest/globals';
import type { ClusterMember, LiveKitRegistry } from '../../tools/agent-worker/src/livekit-registry';
import { MemberRegistrations, type Registration } from '../../tools/agent-worker/src/member-registrations';

/** LiveKit's `nodes` as the worker reads it, changed by the spec between reads. */
class Registry {
  members: ClusterMember[] = [];
  read(): Promise<ClusterMember[]> {
    return Promise.resolve(this.members.map((m) => ({ ...m })));
  }
}

class FakeRegistration implements Registration {
  jobs = 0;
  closed = false;
  constructor(readonly url: string) {}
  activeJobs(): number {
    return this.jobs;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

describe('the agent pool registers with every member of LiveKit cluster', () => {
  const registry = new Registry();
  const made: FakeRegistration[] = [];
  const lines: string[] = [];
  const log = { info: (_: unknown, m: string) => lines.push(m), warn: (_: unknown, m: string) => lines.push(m) };
  let members: MemberRegistrations | undefined;
  const sync = () => (members as unknown as { sync(): Promise<void> }).sync();

  afterEach(async () => {
    await members?.close();
    made.length = 0;
  });

  function start(): MemberRegistrations {
    members = new MemberRegistrations(
      { members: () => registry.read() } as unknown as LiveKitRegistry,
      7880,
      (url) => {
        const registration = new FakeRegistration(url);
        made.push(registration);
        return registration;
      },
      log,
    );
    return members;
  }

  it('registers again at once with a member restarted at the same address, and closes the old registration once its jobs end', async () => {
    registry.members = [
      { id: 'ND_a', ip: '127.0.0.41' },
      { id: 'ND_b', ip: '127.0.0.42' },
    ];
    const pool = start();
    await sync();
    expect(made.map((r) => r.url)).toEqual(['ws://127.0.0.41:7880', 'ws://127.0.0.42:7880']);
    const [first] = made;
    first!.jobs = 1; // a job its pool runs (its room is on another member) outlives the member's restart

    // Member .41 is SIGKILLed and restarted: LiveKit gives it a new id at the same address.
    registry.members = [
      { id: 'ND_a2', ip: '127.0.0.41' },
      { id: 'ND_b', ip: '127.0.0.42' },
    ];
    await sync();
    expect(made.map((r) => r.url)).toEqual(['ws://127.0.0.41:7880', 'ws://127.0.0.42:7880', 'ws://127.0.0.41:7880']);
    expect(pool.registrations()).toBe(3);
    expect(first!.closed).toBe(false);

    // Its job ends: the replaced registration is closed at the next read; the member's is the fresh one.
    first!.jobs = 0;
    await sync();
    expect(first!.closed).toBe(true);
    expect(pool.registrations()).toBe(2);
    expect(made.filter((r) => !r.closed)).toHaveLength(2);
    // The same member read again changes nothing.
    await sync();
    expect(made).toHaveLength(3);
  });
});
