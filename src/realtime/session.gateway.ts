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
import { OnAppEvent } from '../events/app-events';
import type { PushChannelRestoredEvent } from '../events/session.events';
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
/** Sockets caught up at once after the push channel's return: each costs a store read and a token. */
const CATCH_UP_CONCURRENCY = 32;
/** A catch-up the store failed (it may come back after the channel) is run again this soon, this many times. */
const CATCH_UP_RETRY_MS = 500;
const CATCH_UP_ATTEMPTS = 10;
/** Nodes a socket's reports are remembered for (a real client knows one or two; a flood of made-up URLs is cut off here). */
const MAX_REPORTED_URLS = 8;

interface SocketData {
  sessionId: string;
  identity: string;
  waitingForNode: boolean;
  generation: number;
  /** The generation the client said it runs on, if it said. */
  clientGeneration?: number;
  /** The latest generation this socket was told of: at its handshake, or by a push since. */
  knownGeneration: number;
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
  private namespace?: SessionNamespace;
  /** A catch-up of every socket is running; `again`: the channel came back once more meanwhile. */
  private catchingUp: { again: boolean } | undefined;

  constructor(
    private readonly sessions: SessionsService,
    private readonly push: SessionPushService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limits = new AddressLimits(config.maxSocketsPerAddress, config.rateLimit, config.trustProxy);
  }

  afterInit(namespace: SessionNamespace): void {
    this.namespace = namespace;
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
            // A client that did not say runs on the token it was answered last, current at its handshake.
            knownGeneration: Number.isSafeInteger(clientGeneration) ? clientGeneration! : session.generation,
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
    // Every push reaching this socket (its own instance's, another's through the adapter, a catch-up).
    socket.onAnyOutgoing((event: string, payload: { generation?: number }) => {
      if (event === 'rejoin' && typeof payload?.generation === 'number')
        socket.data.knownGeneration = Math.max(socket.data.knownGeneration, payload.generation);
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

  /**
   * Pushes from other instances could not reach this instance's sockets for a while (the adapter's
   * subscriber was reconnecting): each socket is sent the move it missed, if its session moved past
   * what the socket was last told. A socket that missed nothing is sent nothing.
   */
  @OnAppEvent('push-channel-restored')
  async catchUpEverySocket({ channel }: PushChannelRestoredEvent, attempt = 1): Promise<void> {
    if (this.catchingUp) {
      this.catchingUp.again = true;
      return;
    }
    const run = { again: false };
    this.catchingUp = run;
    let failed = 0;
    try {
      do {
        run.again = false;
        failed = 0;
        const sockets = [...(this.namespace?.sockets.values() ?? [])] as SessionSocket[];
        let sent = 0;
        for (let i = 0; i < sockets.length; i += CATCH_UP_CONCURRENCY) {
          await Promise.all(
            sockets.slice(i, i + CATCH_UP_CONCURRENCY).map(async (socket) => {
              if (!socket.connected) return;
              const { sessionId, identity, knownGeneration } = socket.data;
              try {
                const missed = await this.sessions.catchUp(sessionId, identity, knownGeneration);
                if (!missed || missed.generation <= socket.data.knownGeneration) return;
                socket.emit('rejoin', missed);
                sent++;
              } catch {
                failed++;
              }
            }),
          );
        }
        if (sent > 0 || failed > 0)
          this.logger[failed > 0 ? 'warn' : 'log']({
            msg:
              `${channel} listening again: ${sent} of ${sockets.length} socket(s) sent the move they missed` +
              (failed > 0 ? `, ${failed} not checked (the store failed; again in ${CATCH_UP_RETRY_MS} ms)` : ''),
            sockets: sockets.length,
            sent,
            failed,
          });
      } while (run.again);
    } finally {
      this.catchingUp = undefined;
    }
    if (failed > 0 && attempt < CATCH_UP_ATTEMPTS)
      setTimeout(() => void this.catchUpEverySocket({ channel }, attempt + 1), CATCH_UP_RETRY_MS).unref();
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
