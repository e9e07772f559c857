import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The built client the backend serves; browser tests need it and say how to get it. */
export function clientDist(): string {
  const candidates: string[] = [];
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) candidates.push(join(dir, 'client', 'dist'));
  candidates.push(resolve(process.cwd(), 'client', 'dist'));
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error('client/dist/index.html not found: run `npm run build:client` first (npm test does)');
  return found;
}
