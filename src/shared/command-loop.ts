import { createInterface } from 'node:readline';

/**
 * Keeps a launcher running until SIGINT, SIGTERM or a command that answers false: then `stop` runs
 * once and the process exits. Each line typed on stdin goes to `command`. stdin closing (`< /dev/null`)
 * is not a request to stop.
 */
export function runCommandLoop(stop: () => Promise<void>, command: (line: string) => Promise<boolean>): void {
  let stopping = false;
  const stopOnce = async () => {
    if (stopping) return;
    stopping = true;
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stopOnce());
  process.on('SIGTERM', () => void stopOnce());
  createInterface({ input: process.stdin }).on('line', (line) => {
    void command(line).then((keepGoing) => (keepGoing ? undefined : stopOnce()));
  });
}
