import { readdir, readFile } from 'node:fs/promises';

const POLL_MS = 5;

/**
 * SIGSTOP reaches a process's threads one by one: right after kill(pid, 'SIGSTOP') a node still
 * answered `GET /` (livekit-server 3 times in 40 tries, a dev node once). Resolves once every thread
 * in /proc/<pid>/task is stopped (state T), so a "hung" node answers nothing from then on; gives up
 * after `timeoutMs` (or at once where /proc is missing) and leaves the signal to finish on its own.
 */
export async function waitUntilStopped(pid: number, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let states: string[];
    try {
      const tasks = await readdir(`/proc/${pid}/task`);
      states = await Promise.all(
        tasks.map(async (task) => threadState(await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8'))),
      );
    } catch {
      return;
    }
    if (states.every((state) => state === 'T' || state === 't')) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The state field of /proc/.../stat, after the parenthesised command name (which may hold spaces). */
function threadState(stat: string): string {
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}
