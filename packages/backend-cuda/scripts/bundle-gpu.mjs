#!/usr/bin/env node
// Bundles the GPU-only entry points (gpu/gpu-check.ts, gpu/bench.ts) into build/gpu/ with esbuild (installed
// at the repo root), 'vitest' aliased to a tiny runner so the conformance kit runs in plain Node, and copies
// the addon beside them (the loader also looks next to the bundle). Then, on this machine:
//   (from the repo root) bash ../shared/device/pack.sh packages/backend-cuda/build/gpu   → .device/gpu/
// and on the GPU host:  node .device/gpu/gpu-check.mjs ; node .device/gpu/bench.mjs
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'gpu');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { 'gpu-check': join(root, 'gpu/gpu-check.ts'), bench: join(root, 'gpu/bench.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  alias: { vitest: join(root, 'gpu/vitest-shim.ts') },
  banner: { js: "import { createRequire as __tesseraCreateRequire } from 'node:module'; const require = __tesseraCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
const addon = join(root, 'build/Release/tessera_cuda.node');
if (existsSync(addon)) copyFileSync(addon, join(out, 'tessera_cuda.node'));
else console.log('warning: build/Release/tessera_cuda.node is missing; the bundle will report cuda unavailable');
console.log(`bundled ${out}/gpu-check.mjs and bench.mjs${existsSync(addon) ? ' (+ tessera_cuda.node)' : ''}`);
