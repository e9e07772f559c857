import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// `npm run build:client` writes client/dist, which the backend serves at /: the sample app only. The
// failover benchmark's baseline page is built apart (vite.baseline.config.ts), so it never ships.
// `vite --config client/vite.config.ts` serves the pages with hot reload and forwards API and socket calls
// to a backend on BACKEND_URL (default: the backend's default port).
const root = __dirname;
const backend = process.env.BACKEND_URL ?? 'http://127.0.0.1:5000';

export default defineConfig({
  root,
  base: '/',
  // The backend's runtime-free contracts folder (payload types, id rules), shared without ../../../ paths.
  resolve: { alias: { '@contracts': resolve(root, '../src/contracts/index.ts') } },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // livekit-client alone is ~570 kB minified; it gets a chunk of its own, cached across releases.
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      output: {
        manualChunks: (id) => (id.includes('node_modules/livekit-client') ? 'livekit-client' : undefined),
      },
      input: { main: resolve(root, 'index.html') },
    },
  },
  server: {
    proxy: {
      '/api': backend,
      '/socket.io': { target: backend, ws: true },
    },
  },
});
