// The node's public port, served from a worker thread: `GET /` (health) and the v1 signal path's 404s
// are answered there, everything else (signal WebSocket, /rtc/validate, Twirp) is piped byte for byte
// to the main thread's HTTP server on a private loopback port.
//
// Why: werift's DTLS/SRTP work is pure JS on the main thread. Measured on the 2-core dev box with 4
// Chromium participants, the hosting node's main loop was backlogged so far that `GET /` took 1.4 s
// (median) to 9.7 s to answer although the node was serving media fine, and the backend took it for hung.
// Real LiveKit is multi-threaded Go and answers its health check under load. A SIGSTOPped process stops
// this thread too (no answer: hung), a SIGKILLed one closes the port (refused), and a main loop wedged
// for MAIN_LOOP_STALE_MS gets 406, as LiveKit answers 406 when its own stats are stale.
import { connect, createServer, type Socket } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { LOOPBACK_HOST } from './node-config';

/** The main thread's heartbeat period. */
const HEARTBEAT_MS = 100;
/** A main loop silent this long is wedged: `GET /` answers 406 (LiveKit: stats older than 5 s). */
export const MAIN_LOOP_STALE_MS = 5_000;
/** Bytes of a request head we read before deciding; a health GET is far smaller. */
const MAX_HEAD_BYTES = 8 * 1024;

interface FrontData {
  role: 'health-front';
  publicPort: number;
  internalPort: number;
  heartbeat: SharedArrayBuffer;
}

type FrontMessage = { type: 'listening' } | { type: 'error'; code?: string; message: string };

export interface HealthFront {
  close(): Promise<void>;
}

/** Starts the front on `publicPort`, forwarding to `internalPort`; rejects like `listen` (code EADDRINUSE...). */
export function startHealthFront(publicPort: number, internalPort: number): Promise<HealthFront> {
  const heartbeat = new SharedArrayBuffer(8);
  const beat = new BigInt64Array(heartbeat);
  const touch = () => Atomics.store(beat, 0, BigInt(Date.now()));
  touch();
  const pulse = setInterval(touch, HEARTBEAT_MS);
  pulse.unref();
  const data: FrontData = { role: 'health-front', publicPort, internalPort, heartbeat };
  const worker = new Worker(__filename, { workerData: data });
  const front: HealthFront = {
    async close() {
      clearInterval(pulse);
      await worker.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    worker.once('message', (message: FrontMessage) => {
      if (message.type === 'listening') return resolve(front);
      void front.close();
      reject(Object.assign(new Error(message.message), { code: message.code }));
    });
    worker.once('error', (error) => {
      clearInterval(pulse);
      reject(error);
    });
  });
}

function runFront(config: FrontData): void {
  const beat = new BigInt64Array(config.heartbeat);
  const server = createServer((client) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const lineEnd = text.indexOf('\r\n');
      if (lineEnd < 0 && head.length < MAX_HEAD_BYTES) return;
      const requestLine = lineEnd < 0 ? '' : text.slice(0, lineEnd);
      const health = /^GET \/ HTTP\/1\.[01]$/.test(requestLine);
      // livekit-client's first try (socket, then validate) on the v1 path: a static 404 that must not
      // wait behind media work, or the client gives up (3 s) instead of falling back to /rtc.
      const v1Path = /^GET \/rtc\/v1(\/validate)?[?\s]/.test(requestLine);
      if (health || v1Path) {
        // Answer only once the whole head is read: closing with unread bytes would reset the connection,
        // and a reset reads as "nothing listens" to the backend.
        if (!text.includes('\r\n\r\n') && head.length < MAX_HEAD_BYTES) return;
        client.off('data', onData);
        if (health) answerHealth(client, Date.now() - Number(Atomics.load(beat, 0)));
        else answer(client, '404 Not Found', 'v1 signal path is not served by this dev node');
        return;
      }
      client.off('data', onData);
      client.pause();
      forward(client, head, config.internalPort);
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  });
  server.once('error', (error: NodeJS.ErrnoException) =>
    parentPort!.postMessage({ type: 'error', code: error.code, message: error.message } satisfies FrontMessage),
  );
  server.listen({ port: config.publicPort, host: LOOPBACK_HOST }, () =>
    parentPort!.postMessage({ type: 'listening' } satisfies FrontMessage),
  );
}

function answerHealth(client: Socket, mainLoopSilentMs: number): void {
  const ok = mainLoopSilentMs < MAIN_LOOP_STALE_MS;
  answer(client, ok ? '200 OK' : '406 Not Acceptable', ok ? 'OK' : `main loop silent for ${mainLoopSilentMs} ms`);
}

function answer(client: Socket, status: string, body: string): void {
  client.end(
    `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n${body}`,
  );
}

function forward(client: Socket, head: Buffer, internalPort: number): void {
  const upstream = connect({ port: internalPort, host: LOOPBACK_HOST });
  upstream.setNoDelay(true);
  client.setNoDelay(true);
  upstream.write(head);
  client.pipe(upstream);
  upstream.pipe(client);
  client.resume();
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  upstream.on('error', drop);
  client.on('error', drop);
  // A graceful end was already passed on by pipe() and must flush; anything else cuts the other side.
  upstream.on('close', () => client.writableEnded || client.destroy());
  client.on('close', () => upstream.writableEnded || upstream.destroy());
}

if (!isMainThread && (workerData as FrontData | undefined)?.role === 'health-front') runFront(workerData as FrontData);
