import { createServer } from 'node:net';

const SEARCH_FROM = 20_000;
const SEARCH_TO = 60_000;
const RANGE_ATTEMPTS = 50;

function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** First port of `count` consecutive ports that are free right now (another process may still take one). */
export async function findFreePortRange(count: number, host: string): Promise<number> {
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
