// The failover benchmark's baseline page (client/baseline.html: livekit-client with its defaults, no
// backend), served from its own build on 127.0.0.1. It is built by `npm run build:baseline`
// (client/vite.baseline.config.ts), never into client/dist, so the backend does not serve it.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { builtTest } from './built';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
};

export interface BaselinePageServer {
  /** http://127.0.0.1:PORT/baseline.html */
  pageUrl: string;
  close(): Promise<void>;
}

export async function startBaselinePageServer(): Promise<BaselinePageServer> {
  const dir = builtTest('baseline');
  if (!existsSync(join(dir, 'baseline.html')))
    throw new Error(
      `${dir}/baseline.html not found: run \`npm run build:baseline\` first (npm run bench:failover does)`,
    );
  const server = createServer((req, res) => {
    const file = resolve(dir, `.${decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)}`);
    if (!file.startsWith(dir + sep) || !existsSync(file) || !CONTENT_TYPES[extname(file)]) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file)]! });
    res.end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    pageUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/baseline.html`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
