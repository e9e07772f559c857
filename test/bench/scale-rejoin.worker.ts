// bench:scale's rejoins, off the thread that receives the pushes. A thousand signal reconnects at once
// (WebSocket handshakes, JoinResponse decoding) held the bench's event loop for most of a second, and a
// push that arrived meanwhile was stamped when the loop got to it: the bench's own lag, counted as the
// backend's (issue 19, item 4). Here they run on a thread of their own; the main thread only stamps
// each push and hands its URL and token over.
import { parentPort } from 'node:worker_threads';
import { RawSignalClient } from '../media-cluster/raw-signal-client';

/** main -> worker: a bot's rejoin to run, or the end of the run. */
export type RejoinTask =
  { kind: 'rejoin'; bot: number; url: string; token: string; deadlineMs: number } | { kind: 'close' };
/** worker -> main: when (performance.timeOrigin + now(), ms) the bot had its JoinResponse, or why not. */
export type RejoinDone = { bot: number; joinedAt?: number; error?: string };

const clients: RawSignalClient[] = [];
const port = parentPort!;

port.on('message', (task: RejoinTask) => {
  if (task.kind === 'close') {
    for (const client of clients.splice(0)) client.close();
    port.postMessage('closed');
    return;
  }
  void (async () => {
    try {
      const client = await RawSignalClient.connect(task.url, task.token);
      clients.push(client);
      await client.next('join', task.deadlineMs);
      port.postMessage({ bot: task.bot, joinedAt: performance.timeOrigin + performance.now() } satisfies RejoinDone);
    } catch (error) {
      port.postMessage({ bot: task.bot, error: (error as Error).message } satisfies RejoinDone);
    }
  })();
});
