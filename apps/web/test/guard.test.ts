// The build fails when Node-only code would enter the bundle: a browser entry importing a Node built-in, Dawn
// (`webgpu`), sharp or headless-gl stops Vite with the module and its importer named; a dynamic import() of one
// (how our packages load Node modules on use) stays a bare import() and is bundled without its code.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ES modules without types
import { isNodeOnly, nodeOnlyGuard } from '../scripts/node-only-guard.mjs';
import { APP } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function buildEntry(source: string): Promise<string> {
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(entry, source);
  // Vite 8 is this app's own dependency (vitest brings an older one for itself).
  const { build } = (await import(join(APP, 'node_modules/vite/dist/node/index.js'))) as typeof import('vite');
  const out = await build({
    configFile: false,
    logLevel: 'silent',
    root: dir,
    plugins: [nodeOnlyGuard()],
    build: { write: false, lib: { entry, formats: ['es'], fileName: 'out' }, rollupOptions: { treeshake: false } },
  });
  const outputs = (Array.isArray(out) ? out : [out]) as { output: { type: string; code?: string }[] }[];
  return outputs.flatMap((o) => o.output.map((c) => c.code ?? '')).join('\n');
}

describe('the Node-only guard', () => {
  it('names Node-only specifiers', () => {
    for (const id of ['node:fs', 'fs', 'fs/promises', 'worker_threads', 'node:worker_threads', 'path', 'zlib', 'webgpu', 'sharp', 'gl', 'x/addon.node'])
      expect(isNodeOnly(id), id).toBe(true);
    for (const id of ['@tessera/tensor', 'fast-check', 'uplot', 'gpu.js', './fs.js', 'webgpu-utils']) expect(isNodeOnly(id), id).toBe(false);
  });

  for (const [what, source] of [
    ['a Node built-in', "import { readFileSync } from 'node:fs'; export const f = () => readFileSync('x');"],
    ['a bare built-in name', "import { Worker } from 'worker_threads'; export const w = Worker;"],
    ['Dawn (the webgpu package)', "import { create } from 'webgpu'; export const gpu = create;"],
    ['sharp', "import sharp from 'sharp'; export const s = sharp;"],
    ['a require() of headless-gl', "export const gl = () => require('gl');"],
  ] as const) {
    it(`fails the build on ${what}`, async () => {
      await expect(buildEntry(source)).rejects.toThrow(/Node-only module "[^"]+" would enter the browser bundle \(imported by .*entry-/);
    });
  }

  it('keeps a dynamic import() of a Node module as a bare import, without its code', async () => {
    const code = await buildEntry("export const load = () => import('node:fs/promises');");
    expect(code).toMatch(/import\(["']node:fs\/promises["']\)/);
    expect(code).not.toMatch(/readFile/);
  });
});
