import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../contracts';
import { OnAppEvent } from '../events/app-events';
import type { ParticipantLeftEvent, SessionMovedEvent, SessionWaitingEvent } from '../events/session.events';

export type SessionNamespace = Namespace<ClientToServerEvents, ServerToClientEvents>;

/** The socket.io room of one participant (they may have several tabs/sockets). */
export function participantRoom(sessionId: string, identity: string): string {
  return `participant:${sessionId}:${identity}`;
}

/** Turns the registry's announcements into socket.io pushes to each participant; the gateway attaches the namespace. */
@Injectable()
export class SessionPushService {
  private namespace?: SessionNamespace;

  attach(namespace: SessionNamespace): void {
    this.namespace = namespace;
  }

  @OnAppEvent('session-moved')
  moved({ sessionId, url, generation, reason, invitations }: SessionMovedEvent): void {
    for (const { identity, token } of invitations) {
      this.namespace?.to(participantRoom(sessionId, identity)).emit('rejoin', { url, token, generation, reason });
    }
  }

  /**
   * Closes every client's connection at the transport, not with a server disconnect: socket.io clients
   * then reconnect by themselves (behind a load balancer, to another instance). Answers how many.
   */
  closeAllConnections(): number {
    const sockets = [...(this.namespace?.sockets.values() ?? [])];
    for (const socket of sockets) socket.conn.close();
    return sockets.length;
  }

  @OnAppEvent('session-waiting')
  waiting({ sessionId, generation, reason, identities }: SessionWaitingEvent): void {
    for (const identity of identities)
      this.namespace?.to(participantRoom(sessionId, identity)).emit('waiting-for-node', { generation, reason });
  }

  /**
   * A server disconnect (the client does not reconnect by itself), on every instance through the
   * adapter: a socket kept open could still report media-lost for a session its participant left.
   */
  @OnAppEvent('participant-left')
  left({ sessionId, identity }: ParticipantLeftEvent): void {
    this.namespace?.in(participantRoom(sessionId, identity)).disconnectSockets(true);
  }
}
