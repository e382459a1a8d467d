import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { copyData } from './scripts/copy-data.mjs';
import { nodeOnlyGuard } from './scripts/node-only-guard.mjs';
import { ISOLATION_HEADERS } from './scripts/serve.mjs';

export default defineConfig({
  base: './',
  plugins: [nodeOnlyGuard(), copyData()],
  resolve: {
    // The conformance kit's vitest wrappers are not used in the page (src/engine/conformance.ts runs its cases).
    alias: { vitest: fileURLToPath(new URL('./src/vitest-stub.ts', import.meta.url)) },
  },
  worker: { format: 'es', plugins: () => [nodeOnlyGuard()] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 4096, reportCompressedSize: true },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
