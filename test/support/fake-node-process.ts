// A fake media node in its own process, for SIGKILL (crash) and SIGSTOP (hang) exactly as in production.
import { builtTest } from './built';
import { spawnNode, Spawned } from './child-process';

export interface FakeNodeProcess {
  url: string;
  port: number;
  pid: number;
  kill(): void;
  hang(): void;
  resume(): void;
  stop(): Promise<void>;
  proc: Spawned;
}

export async function spawnFakeNode(apiKey: string, apiSecret: string, port = 0): Promise<FakeNodeProcess> {
  const proc = spawnNode(builtTest('test/support/fake-media-node.js'), [String(port), apiKey, apiSecret]);
  try {
    const [, listening] = await proc.waitFor(/fake-node listening (\d+)/, 10_000);
    return {
      url: `ws://127.0.0.1:${listening}`,
      port: Number(listening),
      pid: proc.pid,
      kill: () => process.kill(proc.pid, 'SIGKILL'),
      hang: () => process.kill(proc.pid, 'SIGSTOP'),
      resume: () => process.kill(proc.pid, 'SIGCONT'),
      stop: () => proc.stop(1000),
      proc,
    };
  } catch (error) {
    await proc.stop(500);
    throw error;
  }
}
