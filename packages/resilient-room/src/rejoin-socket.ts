import { io, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  JoinResponse,
  RejoinPayload,
  SESSION_NAMESPACE,
  ServerToClientEvents,
  SessionHandshakeAuth,
  WaitingForNodePayload,
} from '@contracts';

// The contract is imported for types only; the literal type keeps this copy honest.
const SESSION_NAMESPACE_PATH: typeof SESSION_NAMESPACE = '/session';

/**
 * socket.io's own reconnection to the backend (its default: 1 s ± 50 %, growing to 5 s). The first
 * try comes 210-390 ms after the loss: behind a load balancer the next instance takes the socket well
 * within a second of a crash, and the spread keeps a crowd of clients from arriving all at once.
 */
export const SOCKET_RECONNECT_DELAY_MS = 300;
export const SOCKET_RECONNECT_RANDOMIZATION = 0.3;
export const SOCKET_RECONNECT_DELAY_MAX_MS = 3_000;

export type RejoinSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RejoinSocketHandlers {
  rejoin(payload: RejoinPayload): void;
  waitingForNode(payload: WaitingForNodePayload): void;
  log(level: 'info' | 'warn', message: string): void;
}

/**
 * The realtime channel to the backend: `rejoin` and `waiting-for-node` pushes in, `media-lost` out.
 * Each (re)connection tells the generation the client runs on, so a move pushed while the socket was
 * away (its backend instance died, say) is sent again.
 */
export function openRejoinSocket(
  apiBase: string,
  session: JoinResponse,
  handlers: RejoinSocketHandlers,
  generation: () => number | undefined,
): RejoinSocket {
  const socket: RejoinSocket = io(`${apiBase}${SESSION_NAMESPACE_PATH}`, {
    auth: (send) => {
      const auth: SessionHandshakeAuth = {
        sessionId: session.sessionId,
        identity: session.identity,
        rejoinKey: session.rejoinKey,
        generation: generation(),
      };
      send(auth);
    },
    transports: ['websocket'],
    reconnectionDelay: SOCKET_RECONNECT_DELAY_MS,
    randomizationFactor: SOCKET_RECONNECT_RANDOMIZATION,
    reconnectionDelayMax: SOCKET_RECONNECT_DELAY_MAX_MS,
  });
  socket.on('rejoin', (payload) => handlers.rejoin(payload));
  socket.on('waiting-for-node', (payload) => handlers.waitingForNode(payload));
  socket.on('connect', () => handlers.log('info', 'realtime channel to the backend open'));
  socket.on('disconnect', (reason) => handlers.log('warn', `realtime channel closed (${reason}); media keeps flowing`));
  socket.on('connect_error', (err) => handlers.log('warn', `realtime channel: ${err.message}`));
  return socket;
}
