import { Inject, Logger } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { SessionsService } from '../sessions/sessions.service';
import { NO_NODE_MESSAGE } from '../sessions/rebuild/session-mover.service';
import {
  ClientToServerEvents,
  IDENTITY_PATTERN,
  MediaLostPayload,
  SESSION_ID_PATTERN,
  SESSION_NAMESPACE,
  ServerToClientEvents,
  SessionHandshakeAuth,
} from '../contracts';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MetricsService } from '../observability/metrics.service';
import { AddressLimits } from './address-limits';
import { participantRoom, SessionNamespace, SessionPushService } from './session-push.service';

/**
 * A socket's media-lost reports about one node count once per this long: one report is all the backend
 * needs (it then watches the node), and a client that sends thousands must not cost a store read each.
 */
export const MEDIA_LOST_REPORT_INTERVAL_MS = 1_000;
/**
 * Messages a socket may send in one second before it is closed. A client sends one report per move; a
 * socket sending thousands costs the instance their decoding even when each is dropped, so it goes.
 */
export const MAX_SOCKET_MESSAGES_PER_SECOND = 20;
/** Nodes a socket's reports are remembered for (a real client knows one or two; a flood of made-up URLs is cut off here). */
const MAX_REPORTED_URLS = 8;

interface SocketData {
  sessionId: string;
  identity: string;
  waitingForNode: boolean;
  generation: number;
  /** The generation the client said it runs on, if it said. */
  clientGeneration?: number;
  /** When this socket's last counted media-lost report about each URL arrived. */
  reportedAt: Map<string, number>;
}

type SessionSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** `/session`: a participant authenticates with its rejoin key and waits for `rejoin` pushes. */
// No CORS headers: clients use the WebSocket transport (not subject to CORS), and a socket is worth
// nothing without its participant's rejoin key.
@WebSocketGateway({ namespace: SESSION_NAMESPACE })
export class SessionGateway implements OnGatewayInit<SessionNamespace>, OnGatewayConnection<SessionSocket> {
  private readonly logger = new Logger(SessionGateway.name);

  private readonly limits: AddressLimits;

  constructor(
    private readonly sessions: SessionsService,
    private readonly push: SessionPushService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limits = new AddressLimits(config.maxSocketsPerAddress, config.rateLimit, config.trustProxy);
  }

  afterInit(namespace: SessionNamespace): void {
    this.push.attach(namespace);
    // Refused at the handshake: the client sees connect_error and never joins a room.
    namespace.use((socket, next) => {
      const address = this.limits.addressOf(socket.request);
      const refused = this.limits.admit(address);
      if (refused) {
        this.metrics.rateLimited('socket-handshake');
        next(new Error(refused));
        return;
      }
      // Counted from here, so a burst of handshakes cannot all pass the check before any is counted;
      // uncounted once, whichever comes first: the handshake refused below, the socket's disconnect, or
      // its connection closing. A client that drops during the key check is discarded by socket.io
      // without a disconnect: only the connection's close tells (its slot leaked until restart).
      this.limits.opened(address);
      let counted = true;
      const release = () => {
        if (!counted) return;
        counted = false;
        this.limits.closed(address);
      };
      const refuse = (message: string) => {
        release();
        next(new Error(message));
      };
      socket.once('disconnect', release);
      socket.conn.once('close', release);
      const auth = (socket.handshake.auth ?? {}) as Partial<SessionHandshakeAuth>;
      const { sessionId, identity, rejoinKey, generation: clientGeneration } = auth;
      if (
        typeof sessionId !== 'string' ||
        !SESSION_ID_PATTERN.test(sessionId) ||
        typeof identity !== 'string' ||
        !IDENTITY_PATTERN.test(identity)
      ) {
        refuse('handshake needs auth {sessionId, identity, rejoinKey}');
        return;
      }
      this.sessions.authenticate(sessionId, identity, rejoinKey).then(
        (session) => {
          socket.data = {
            sessionId,
            identity,
            waitingForNode: session.waitingForNode,
            generation: session.generation,
            clientGeneration: Number.isSafeInteger(clientGeneration) ? clientGeneration : undefined,
            reportedAt: new Map(),
          };
          next();
        },
        (error: unknown) => refuse(error instanceof Error ? error.message : 'unauthorized'),
      );
    });
  }

  handleConnection(socket: SessionSocket): void {
    const { sessionId, identity, waitingForNode, generation, clientGeneration } = socket.data;
    let windowStart = Date.now();
    let messages = 0;
    socket.use((_packet, next) => {
      const now = Date.now();
      if (now - windowStart >= 1_000) [windowStart, messages] = [now, 0];
      if (++messages <= MAX_SOCKET_MESSAGES_PER_SECOND) return next();
      if (!socket.connected) return; // what was already buffered when it was closed
      this.metrics.rateLimited('socket-messages');
      this.logger.warn({
        msg: `socket of ${sessionId}/${identity} closed: over ${MAX_SOCKET_MESSAGES_PER_SECOND} messages a second`,
        sessionId,
        identity,
      });
      socket.disconnect(true);
    });
    void socket.join(participantRoom(sessionId, identity));
    if (waitingForNode) socket.emit('waiting-for-node', { generation, reason: NO_NODE_MESSAGE });
    if (clientGeneration === undefined) return;
    // Pushes are not replayed: a socket that comes back behind the session is sent the move it missed.
    this.sessions.catchUp(sessionId, identity, clientGeneration).then(
      (missed) => missed && socket.emit('rejoin', missed),
      (error: unknown) =>
        this.logger.error(
          `catch-up for ${sessionId}/${identity}: ${error instanceof Error ? error.message : String(error)}`,
        ),
    );
  }

  @SubscribeMessage('media-lost')
  mediaLost(@ConnectedSocket() socket: SessionSocket, @MessageBody() payload: MediaLostPayload): void {
    const { sessionId, identity, reportedAt } = socket.data;
    if (typeof payload?.url !== 'string') return;
    const now = Date.now();
    if (now - (reportedAt.get(payload.url) ?? -Infinity) < MEDIA_LOST_REPORT_INTERVAL_MS) return;
    if (reportedAt.size >= MAX_REPORTED_URLS && !reportedAt.has(payload.url)) reportedAt.clear();
    reportedAt.set(payload.url, now);
    this.sessions
      .reportMediaLost(sessionId, payload.url, identity)
      .catch((error: unknown) =>
        this.logger.error(`media-lost for ${sessionId}: ${error instanceof Error ? error.message : String(error)}`),
      );
  }
}
