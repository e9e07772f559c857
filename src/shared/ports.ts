import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

const SEARCH_FROM = 20_000;
const SEARCH_TO = 60_000;
const RANGE_ATTEMPTS = 50;

/** Whether nothing listens on `port` right now (another process may still take it a moment later). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the system hands out as free right now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/**
 * `count` ports the system hands out as free right now, all different: each is held until the last is
 * found, since ports asked for one after another may be the same one again when none is taken between.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      held.push(
        await new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, host, () => resolve(server));
        }),
      );
    }
    return held.map((server) => {
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    });
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** First port of `count` consecutive ports that are free right now. */
export async function findFreePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < RANGE_ATTEMPTS; attempt++) {
    const base = SEARCH_FROM + Math.floor(Math.random() * (SEARCH_TO - SEARCH_FROM - count));
    let free = true;
    for (let port = base; port < base + count && free; port++) {
      free = await isPortFree(port, host);
    }
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports between ${SEARCH_FROM} and ${SEARCH_TO}`);
}

/** A UDP port the system hands out as free right now. */
export function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Whether nothing is bound to UDP `port` on `host` right now. */
export function isUdpPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind({ port, address: host, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}
