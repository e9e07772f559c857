// Spawning and stopping child processes for tests: output collected, stopped by pid, never left behind.
import { ChildProcess, spawn } from 'node:child_process';

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** A closure over the collected output: safe to pass around unbound. */
  output: () => string;
  /** Resolves with the first regex match in the output, rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  return spawnProcess(process.execPath, ['--enable-source-maps', script, ...args], env, script);
}

/** Any program (redis-server, nginx...), with the same output capture and teardown as spawnNode. */
export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}, script = command): Spawned {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.once('error', () => undefined); // a missing program: no pid, reported below
  if (!child.pid) throw new Error(`could not spawn ${script}`);
  live.add(child);
  let out = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const check of waiters) check();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      for (const check of waiters) check();
      resolve();
    }),
  );
  const pid = child.pid;
  return {
    child,
    pid,
    output: () => out,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from ${script}; output:\n${out}`));
        }, timeoutMs);
        const check = () => {
          const match = pattern.exec(out);
          if (match) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(
              new Error(
                `${script} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; output:\n${out}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      }),
    stop: async (graceMs = 3000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(pid, 'SIGCONT'); // a SIGSTOPped process cannot handle SIGTERM
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
