import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DisconnectReason, LeaveRequest, LeaveRequest_Action } from '@livekit/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import { Access, AccessError, type JoinClaims } from './access';
import { startHealthFront, type HealthFront } from './health-front';
import { LOOPBACK_HOST, type NodeConfig } from './node-config';
import type { Participant } from './participant';
import { PING_INTERVAL_SEC, PING_TIMEOUT_SEC, type Room } from './room';
import { RoomRegistry } from './room-registry';
import { RoomService, TWIRP_PREFIX, TwirpError } from './room-service';
import { CLOSE_UNSUPPORTED_DATA, SignalSocket } from './signal-socket';
import { warmUpWebRtc } from './warm-up';
import { WebhookNotifier } from './webhook-notifier';

/**
 * A client whose signal socket drops without a `leave` stays in its room this long (LiveKit keeps
 * it for a resume); a reconnect under the same identity replaces it at once.
 */
export const SIGNAL_LOSS_GRACE_MS = 5_000;
const MAX_TWIRP_BODY_BYTES = 1 << 20;

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One LiveKit-compatible media node: `GET /` health, signal WebSocket, Twirp RoomService, webhooks. */
export class MediaNode {
  private readonly access: Access;
  private readonly rooms: RoomRegistry;
  private readonly roomService: RoomService;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly pingWatch: NodeJS.Timeout;
  private front?: HealthFront;

  constructor(
    private readonly config: NodeConfig,
    private readonly log: (line: string) => void,
  ) {
    this.access = new Access(config.apiKey, config.apiSecret);
    const webhooks = new WebhookNotifier(config.webhookUrl, config.apiKey, config.apiSecret, log);
    this.rooms = new RoomRegistry(`ND_${config.name}`, webhooks, config.emptyTimeoutSec, log);
    this.roomService = new RoomService(this.rooms, this.access);
    this.server = createServer((req, res) => void this.handleHttp(req, res));
    this.server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, socket, head));
    this.pingWatch = setInterval(() => this.dropSilentParticipants(), PING_INTERVAL_SEC * 1000);
  }

  /**
   * The HTTP server listens on a private loopback port; the public port belongs to the health front
   * (a worker thread: `GET /` stays answered while media work keeps this loop busy, see health-front.ts).
   */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: 0, host: LOOPBACK_HOST }, () => resolve());
    });
    // Before the public port opens, so no client's join pays for a cold process (see warm-up.ts).
    await warmUpWebRtc(this.log);
    const address = this.server.address();
    const internalPort = typeof address === 'object' && address ? address.port : 0;
    this.front = await startHealthFront(this.config.port, internalPort);
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // livekit-client reads /validate statuses from the page's origin: without CORS it cannot tell
    // a 404 (fall back to the v0 signal path) from an unreachable server.
    res.setHeader('Access-Control-Allow-Origin', '*');
    const url = requestUrl(req);
    if (!url) {
      reply(res, 400, 'bad request target');
      return;
    }
    const path = url.pathname;
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type',
        });
        res.end();
      } else if (req.method === 'GET' && path === '/') {
        reply(res, 200, 'OK');
      } else if (path.endsWith('/rtc/v1/validate')) {
        reply(res, 404, 'v1 signal path is not served by this dev node');
      } else if (req.method === 'GET' && path.endsWith('/rtc/validate')) {
        await this.admit(url.searchParams, req.headers.authorization);
        reply(res, 200, 'success');
      } else if (req.method === 'POST' && path.startsWith(TWIRP_PREFIX)) {
        await this.handleTwirp(path.slice(TWIRP_PREFIX.length), req, res);
      } else {
        reply(res, 404, 'not found');
      }
    } catch (error) {
      if (error instanceof TwirpError) {
        reply(res, error.status, JSON.stringify({ code: error.code, msg: error.message }), 'application/json');
      } else if (error instanceof AccessError || error instanceof HttpRefusal) {
        const isTwirp = path.startsWith(TWIRP_PREFIX);
        const code =
          error.status === 401 ? 'unauthenticated' : error.status === 403 ? 'permission_denied' : 'not_found';
        if (isTwirp) reply(res, error.status, JSON.stringify({ code, msg: error.message }), 'application/json');
        else reply(res, error.status, error.message);
      } else {
        this.log(`HTTP ${req.method} ${path} failed: ${(error as Error).stack}`);
        reply(res, 500, 'internal error');
      }
    }
  }

  private async handleTwirp(method: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_TWIRP_BODY_BYTES);
    const answer = await this.roomService.call(
      method,
      body,
      req.headers['content-type'] ?? 'application/json',
      req.headers.authorization,
    );
    reply(res, 200, answer.body, answer.contentType);
  }

  /**
   * Checks a join as LiveKit does before the socket opens: a valid token, and room for one more. The
   * token comes as `access_token` (livekit-client) or as `Authorization: Bearer` (the Rust-core SDKs:
   * @livekit/rtc-node, the Python SDK), both of which LiveKit accepts.
   */
  private async admit(params: URLSearchParams, authorization: string | undefined): Promise<JoinClaims> {
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
    const claims = await this.access.verifyJoin(params.get('access_token') ?? bearer);
    const refusal = this.rooms.get(claims.room)?.refusal(claims.identity);
    if (refusal) throw new HttpRefusal(403, refusal);
    return claims;
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // The HTTP server drops its error listener from an upgraded socket; a client that resets while its
    // token is checked would otherwise raise an uncaught 'error' (ws's noServer example does the same).
    socket.on('error', () => socket.destroy());
    const url = requestUrl(req);
    if (!url) {
      refuseUpgrade(socket, 400, 'bad request target');
      return;
    }
    if (!url.pathname.endsWith('/rtc')) {
      // Includes /rtc/v1: livekit-client then asks /rtc/v1/validate, gets 404, and uses /rtc.
      refuseUpgrade(socket, 404, 'not found');
      return;
    }
    let claims: JoinClaims;
    try {
      claims = await this.admit(url.searchParams, req.headers.authorization);
    } catch (error) {
      const status = error instanceof AccessError || error instanceof HttpRefusal ? error.status : 500;
      refuseUpgrade(socket, status, (error as Error).message);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.startSession(ws, claims, url.searchParams));
  }

  private startSession(ws: WebSocket, claims: JoinClaims, params: URLSearchParams): void {
    const socket = new SignalSocket(ws);
    if (params.get('reconnect') === '1') {
      // No resume here: the client's session state is not on this node (or not trusted after a
      // restart), so it is told to join afresh, which it does at once with the same token.
      socket.send({
        case: 'leave',
        value: new LeaveRequest({
          canReconnect: true,
          reason: DisconnectReason.STATE_MISMATCH,
          action: LeaveRequest_Action.RECONNECT,
        }),
      });
      socket.close();
      return;
    }
    const room = this.rooms.getOrCreate({ ...claims.roomConfig, name: claims.room });
    const participant = room.join(claims, socket, params.get('auto_subscribe') !== '0');
    // A bad message or a failing handler costs that one client its connection, never the node.
    const drop = (why: string) => {
      this.log(`${participant.identity}: ${why}; closing its signal connection`);
      socket.close(CLOSE_UNSUPPORTED_DATA, why);
    };
    socket.onRequest(
      (request) => {
        try {
          participant.handle(request);
        } catch (error) {
          drop(`signal request ${request.message.case} failed: ${(error as Error).message}`);
        }
      },
      (error) => drop(`unreadable signal message: ${error.message}`),
    );
    socket.onClose(() => this.signalLost(room, participant));
  }

  private signalLost(room: Room, participant: Participant): void {
    if (room.participant(participant.identity) !== participant) return;
    setTimeout(() => room.remove(participant, DisconnectReason.SIGNAL_CLOSE, false), SIGNAL_LOSS_GRACE_MS).unref();
  }

  /** A client that stopped pinging is gone (LiveKit closes it after the same ping timeout). */
  private dropSilentParticipants(): void {
    const deadline = Date.now() - PING_TIMEOUT_SEC * 1000;
    for (const room of this.rooms.list()) {
      for (const participant of room.list()) {
        if (participant.lastSeenAt < deadline) participant.dropSignal();
      }
    }
  }

  close(): void {
    clearInterval(this.pingWatch);
    void this.front?.close();
    this.server.close();
  }
}

/** The request target as a URL; undefined for one no URL parser accepts (e.g. `http://[`), which would otherwise throw. */
function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://node');
  } catch {
    return undefined;
  }
}

function reply(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType = 'text/plain; charset=utf-8',
): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n` +
      `Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n${message}`,
  );
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new TwirpError(413, 'malformed', 'request body too large'));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
