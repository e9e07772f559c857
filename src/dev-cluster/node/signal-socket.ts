import { SignalRequest, SignalResponse } from '@livekit/protocol';
import type { RawData, WebSocket } from 'ws';

export type SignalMessage = SignalResponse['message'];

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

  /** Closes with a WebSocket status and a reason the client logs (1000 = normal closure). */
  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }

  /** For a peer that stopped answering: no closing handshake to wait for. */
  terminate(): void {
    this.ws.terminate();
  }
}
