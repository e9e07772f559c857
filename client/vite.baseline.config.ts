import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The failover benchmark's baseline page (baseline.html: livekit-client with its defaults, no backend),
// built by `npm run build:baseline` into the test build's folder, never into client/dist. The benchmark
// serves it itself (test/support/baseline-page.ts).
const root = __dirname;

export default defineConfig({
  root,
  base: '/',
  build: {
    outDir: resolve(root, '../dist-test/baseline'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 800,
    rollupOptions: { input: { baseline: resolve(root, 'baseline.html') } },
  },
});
