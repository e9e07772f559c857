// Collects what the dev cluster's nodes POST to their webhook URL, exactly as received.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  body: string;
  authorization: string | undefined;
  contentType: string | undefined;
  /** The `event` field, read without verifying anything. */
  event: string;
}

export interface WebhookSink {
  url: string;
  received: ReceivedWebhook[];
  /** Resolves with the first webhook matching `predicate` (already received or still to come). */
  waitFor(predicate: (hook: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event: string;
      try {
        event = (JSON.parse(body) as { event?: string }).event ?? '';
      } catch {
        event = '<not json>';
      }
      received.push({
        body,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        event,
      });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/livekit`,
    received,
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.find(predicate);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no matching webhook within ${timeoutMs} ms; got: ${received.map((hook) => hook.event).join(', ')}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
