import { Inject, Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { ClientToServerEvents, RejoinPayload, ServerToClientEvents, WaitingForNodePayload } from '../contracts';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { OnAppEvent } from '../events/app-events';
import type { ParticipantLeftEvent, SessionMovedEvent, SessionWaitingEvent } from '../events/session.events';

/** One push to one participant's sockets (its socket.io room), wherever they are connected. */
export type Push =
  | { room: string; event: 'rejoin'; payload: RejoinPayload }
  | { room: string; event: 'waiting-for-node'; payload: WaitingForNodePayload };

/** What instances tell each other through the adapter (socket.io's serverSideEmit). */
export interface InstanceEvents {
  /** Pushes for the sockets the receiving instance holds. */
  pushes: (pushes: Push[]) => void;
}

export type SessionNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InstanceEvents>;

/** The socket.io room of one participant (they may have several tabs/sockets). */
export function participantRoom(sessionId: string, identity: string): string {
  return `participant:${sessionId}:${identity}`;
}

/**
 * Turns the registry's announcements into socket.io pushes to each participant; the gateway attaches the
 * namespace. The pushes of one turn of the event loop (a herd's batch: 64 sessions, 256 participants) go
 * out together: each to this instance's sockets at once, and to the other instances as one message, where
 * a push apiece was a Redis PUBLISH apiece, each encoded here and decoded by every other instance
 * (bench:scale, a herd of 1,000 with every socket on one instance: about 45 ms of the two instances' CPU
 * in the herd's 500 ms, on a machine with none to spare).
 */
@Injectable()
export class SessionPushService {
  private namespace?: SessionNamespace;
  private pending: Push[] = [];
  private flushScheduled = false;
  /** Other instances share the sockets (Redis): pushes must reach theirs too. */
  private readonly shared: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.shared = config.redisTarget !== undefined;
  }

  attach(namespace: SessionNamespace): void {
    this.namespace = namespace;
    namespace.on('pushes', (pushes: unknown) => {
      if (Array.isArray(pushes)) this.deliverHere(pushes.filter(isPush));
    });
  }

  @OnAppEvent('session-moved')
  moved({ sessionId, url, generation, reason, invitations }: SessionMovedEvent): void {
    for (const { identity, token } of invitations)
      this.queue({
        room: participantRoom(sessionId, identity),
        event: 'rejoin',
        payload: { url, token, generation, reason },
      });
  }

  @OnAppEvent('session-waiting')
  waiting({ sessionId, generation, reason, identities }: SessionWaitingEvent): void {
    for (const identity of identities)
      this.queue({
        room: participantRoom(sessionId, identity),
        event: 'waiting-for-node',
        payload: { generation, reason },
      });
  }

  /**
   * Closes every client's connection at the transport, not with a server disconnect: socket.io clients
   * then reconnect by themselves (behind a load balancer, to another instance). Answers how many.
   */
  closeAllConnections(): number {
    this.flush(); // the moves pushed last go out before the sockets close
    const sockets = [...(this.namespace?.sockets.values() ?? [])];
    for (const socket of sockets) socket.conn.close();
    return sockets.length;
  }

  /**
   * A server disconnect (the client does not reconnect by itself), on every instance through the
   * adapter: a socket kept open could still report media-lost for a session its participant left.
   */
  @OnAppEvent('participant-left')
  left({ sessionId, identity }: ParticipantLeftEvent): void {
    this.namespace?.in(participantRoom(sessionId, identity)).disconnectSockets(true);
  }

  /** Pushes leave in the order they were queued; a `waiting-for-node` never overtakes an earlier `rejoin`. */
  private queue(push: Push): void {
    this.pending.push(push);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const pushes = this.pending;
    this.pending = [];
    const namespace = this.namespace;
    if (!namespace || pushes.length === 0) return;
    this.deliverHere(pushes);
    if (this.shared) namespace.serverSideEmit('pushes', pushes);
  }

  private deliverHere(pushes: readonly Push[]): void {
    const local = this.namespace?.local;
    if (!local) return;
    for (const push of pushes) {
      if (push.event === 'rejoin') local.to(push.room).emit('rejoin', push.payload);
      else local.to(push.room).emit('waiting-for-node', push.payload);
    }
  }
}

/** A push as another instance sent it (it came through Redis: checked before use, never trusted blindly). */
function isPush(value: unknown): value is Push {
  if (typeof value !== 'object' || value === null) return false;
  const { room, event, payload } = value as Record<string, unknown>;
  return (
    typeof room === 'string' &&
    (event === 'rejoin' || event === 'waiting-for-node') &&
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as { generation?: unknown }).generation === 'number'
  );
}
