import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { ClientToServerEvents, RejoinPayload, ServerToClientEvents, WaitingForNodePayload } from '../contracts';

export type SessionNamespace = Namespace<ClientToServerEvents, ServerToClientEvents>;

/** The socket.io room of one participant (they may have several tabs/sockets). */
export function participantRoom(sessionId: string, identity: string): string {
  return `participant:${sessionId}:${identity}`;
}

/** The wrapper the rebuild depends on to reach participants; the gateway attaches the namespace. */
@Injectable()
export class SessionPushService {
  private namespace?: SessionNamespace;

  attach(namespace: SessionNamespace): void {
    this.namespace = namespace;
  }

  rejoin(sessionId: string, identity: string, payload: RejoinPayload): void {
    this.namespace?.to(participantRoom(sessionId, identity)).emit('rejoin', payload);
  }

  waitingForNode(sessionId: string, identity: string, payload: WaitingForNodePayload): void {
    this.namespace?.to(participantRoom(sessionId, identity)).emit('waiting-for-node', payload);
  }
}
