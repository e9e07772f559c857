import { SignalRequest, SignalResponse } from '@livekit/protocol';
import type { RawData, WebSocket } from 'ws';

export type SignalMessage = SignalResponse['message'];

/** RFC 6455 close codes the node uses. */
export const CLOSE_NORMAL = 1000;
/** The peer sent data the node cannot accept (a malformed frame). */
export const CLOSE_UNSUPPORTED_DATA = 1003;
/** The node could not serve the peer (a failed negotiation). */
export const CLOSE_INTERNAL_ERROR = 1011;
/** A close frame's reason must fit in 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

/** One participant's signal WebSocket: binary protobuf out, binary (or JSON) protobuf in. */
export class SignalSocket {
  constructor(private readonly ws: WebSocket) {}

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  send(message: SignalMessage): void {
    if (this.open) this.ws.send(new SignalResponse({ message }).toBinary());
  }

  onRequest(handler: (request: SignalRequest) => void, onBadMessage: (error: Error) => void): void {
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      try {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        handler(isBinary ? SignalRequest.fromBinary(bytes) : SignalRequest.fromJsonString(bytes.toString('utf8')));
      } catch (error) {
        onBadMessage(error as Error);
      }
    });
  }

  onClose(handler: () => void): void {
    this.ws.on('close', handler);
  }

  /** Closes with a status and a reason the client logs; the reason is cut to what a close frame holds. */
  close(code = CLOSE_NORMAL, reason = ''): void {
    let bytes = Buffer.from(reason);
    if (bytes.length > MAX_CLOSE_REASON_BYTES) bytes = bytes.subarray(0, MAX_CLOSE_REASON_BYTES);
    this.ws.close(code, bytes.toString('utf8').replace(/\uFFFD$/, ''));
  }

  /** For a peer that stopped answering: no closing handshake to wait for. */
  terminate(): void {
    this.ws.terminate();
  }
}
