import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// A plain Vite app: `npm run build` writes dist/, which a session-rebuilder backend serves as its client
// (CLIENT_DIST=examples/react/dist npm start). `npm run dev` serves it with hot reload and forwards the
// API and the socket to a backend on BACKEND_URL (default: npm start's port).
const backend = process.env.BACKEND_URL ?? 'http://127.0.0.1:5000';

export default defineConfig({
  root: __dirname,
  build: { outDir: resolve(__dirname, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': backend, '/socket.io': { target: backend, ws: true } } },
});
