// A stand-in for a LiveKit node in e2e tests: answers `GET /` like LiveKit's health check and the
// RoomService Twirp calls the backend uses (CreateRoom, DeleteRoom, ListRooms), checking their JWT.
// Runs in-process (startFakeNode) or as its own process (this file as main) so a test can SIGKILL or
// SIGSTOP it exactly like a crashed or hung node.
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TokenVerifier } from 'livekit-server-sdk';

export interface FakeRoom {
  sid: string;
  name: string;
  metadata: string;
  emptyTimeout: number;
  departureTimeout: number;
  maxParticipants: number;
}

/** The fields of the RoomService requests (protobuf JSON) the fake reads. */
interface TwirpRequest {
  name?: string;
  room?: string;
  metadata?: string;
  emptyTimeout?: number;
  departureTimeout?: number;
  maxParticipants?: number;
}

export interface FakeNodeOptions {
  apiKey: string;
  apiSecret: string;
  port?: number;
}

export interface FakeNode {
  readonly port: number;
  readonly url: string;
  rooms(): FakeRoom[];
  /** Closes the listener and every open connection: the next connect is refused. */
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function twirpError(res: ServerResponse, status: number, code: string, msg: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code, msg }));
}

export async function startFakeNode(options: FakeNodeOptions): Promise<FakeNode> {
  const verifier = new TokenVerifier(options.apiKey, options.apiSecret);
  const rooms = new Map<string, FakeRoom>();
  const sockets = new Set<Socket>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url?.replace(/\?.*$/s, '') ?? '/';
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      return;
    }
    const twirp = /^\/twirp\/livekit\.RoomService\/(\w+)$/.exec(path);
    if (req.method !== 'POST' || !twirp) {
      res.writeHead(404).end('not found');
      return;
    }
    const method = twirp[1];
    const body = await readBody(req);
    let claims: Awaited<ReturnType<TokenVerifier['verify']>>;
    try {
      claims = await verifier.verify((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    } catch {
      twirpError(res, 401, 'unauthenticated', 'invalid token');
      return;
    }
    const video = (claims.video ?? {}) as { roomCreate?: boolean; roomList?: boolean };
    const request = body ? (JSON.parse(body) as TwirpRequest) : {};
    switch (method) {
      case 'CreateRoom': {
        if (!video.roomCreate) return twirpError(res, 403, 'permission_denied', 'roomCreate grant needed');
        const name = request.name ?? '';
        const room: FakeRoom = rooms.get(name) ?? {
          sid: `RM_${randomBytes(6).toString('hex')}`,
          name,
          metadata: request.metadata ?? '',
          emptyTimeout: Number(request.emptyTimeout ?? 0),
          departureTimeout: Number(request.departureTimeout ?? 0),
          maxParticipants: Number(request.maxParticipants ?? 0),
        };
        rooms.set(name, room);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ...room, creationTime: String(Math.floor(Date.now() / 1000)) }));
        return;
      }
      case 'DeleteRoom':
        if (!video.roomCreate) return twirpError(res, 403, 'permission_denied', 'roomCreate grant needed');
        rooms.delete(request.room ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      case 'ListRooms':
        if (!video.roomList) return twirpError(res, 403, 'permission_denied', 'roomList grant needed');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rooms: [...rooms.values()] }));
        return;
      default:
        twirpError(res, 404, 'bad_route', `no method ${method}`);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    rooms: () => [...rooms.values()],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// As a process: `node fake-media-node.js PORT KEY SECRET`; prints "fake-node listening PORT".
if (require.main === module) {
  const [port, apiKey, apiSecret] = process.argv.slice(2);
  if (!port || !apiKey || !apiSecret) {
    console.error('usage: node fake-media-node.js PORT KEY SECRET');
    process.exit(1);
  }
  startFakeNode({ port: Number(port), apiKey, apiSecret }).then(
    (node) => console.log(`fake-node listening ${node.port}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
