// A bare signal-protocol client over `ws`: enough to be a participant (no media) in e2e specs that
// exercise rooms, Twirp and webhooks without a browser.
import { SignalRequest, SignalResponse } from '@livekit/protocol';
import WebSocket from 'ws';

type ResponseCase = NonNullable<SignalResponse['message']['case']>;
type ResponseValue<C extends ResponseCase> = Extract<SignalResponse['message'], { case: C }>['value'];

export interface CloseInfo {
  code: number;
  reason: string;
}

export class RawSignalClient {
  readonly received: SignalResponse[] = [];
  readonly closed: Promise<CloseInfo>;
  private waiters: Array<() => void> = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.received.push(SignalResponse.fromBinary(new Uint8Array(data)));
      this.waiters.splice(0).forEach((wake) => wake());
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Opens `/rtc` the way livekit-client's v0 path does and waits for the socket to open. */
  /** `tokenIn: 'header'` sends the token as `Authorization: Bearer`, as the Rust-core SDKs do. */
  static async connect(
    nodeUrl: string,
    token: string,
    extraParams: Record<string, string> = {},
    tokenIn: 'query' | 'header' = 'query',
  ): Promise<RawSignalClient> {
    const url = new URL(`${nodeUrl}/rtc`);
    const params = {
      ...(tokenIn === 'query' && { access_token: token }),
      auto_subscribe: '1',
      sdk: 'js',
      protocol: '16',
      ...extraParams,
    };
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const ws = new WebSocket(url, tokenIn === 'header' ? { headers: { Authorization: `Bearer ${token}` } } : {});
    const client = new RawSignalClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return client;
  }

  /** The first message of `kind` (already received or still to come). */
  async next<C extends ResponseCase>(kind: C, timeoutMs = 5_000): Promise<ResponseValue<C>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((response) => response.message.case === kind);
      if (found) return found.message.value as ResponseValue<C>;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no ${kind} message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(message: SignalRequest['message']): void {
    this.ws.send(new SignalRequest({ message }).toBinary());
  }

  sendRaw(bytes: Buffer): void {
    this.ws.send(bytes);
  }

  close(): void {
    this.ws.close();
  }
}
