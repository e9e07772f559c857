import { resolve } from 'node:path';
import { rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';
import { defineConfig, type Plugin } from 'vite';

// The package as it ships: one ES module and one declaration file per entry point (`.` and `./react`),
// unminified, with source maps. The peers stay imports for the app's bundler. The backend's contracts
// (`@contracts`: types only here) are resolved at build time and their types inlined in the .d.ts, so
// nothing in dist/ points back into this repository.
const root = __dirname;
const ENTRIES = { index: resolve(root, 'src/index.ts'), react: resolve(root, 'src/react/index.ts') };
const PEERS = [
  /^livekit-client($|\/)/,
  /^socket\.io-client($|\/)/,
  /^react($|\/)/,
  /^@livekit\/components-react($|\/)/,
];

/** The declarations, bundled per entry by rollup-plugin-dts once the JavaScript is written. */
function declarations(): Plugin {
  return {
    name: 'resilient-room-declarations',
    apply: 'build',
    async closeBundle() {
      const bundle = await rollup({
        input: ENTRIES,
        external: PEERS,
        plugins: [dts({ tsconfig: resolve(root, 'tsconfig.json') })],
      });
      await bundle.write({
        dir: resolve(root, 'dist'),
        format: 'es',
        entryFileNames: '[name].d.ts',
        chunkFileNames: 'chunks/[name]-[hash].d.ts',
      });
      await bundle.close();
    },
  };
}

export default defineConfig({
  root,
  resolve: { alias: { '@contracts': resolve(root, '../../src/contracts/index.ts') } },
  plugins: [declarations()],
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    minify: false,
    lib: { entry: ENTRIES, formats: ['es'] },
    rollupOptions: {
      external: PEERS,
      output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
});
