// The browser path is real: this package is bundled for the browser (esbuild, platform "browser"; the Node
// addon is never part of it) and run in headless Chromium on its WebGPU adapter (SwiftShader here), where the
// matmul and conv2d conformance cases and a training step must match the CPU backend.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserReport } from './browser/entry.js';

const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let bundle = '';
let server: Server | undefined;
let url = '';
let profile = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./browser/entry.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
    plugins: [
      {
        // The conformance kit's vitest wrappers are not used in the page; only its cases and comparisons are.
        name: 'no-vitest',
        setup(b) {
          b.onResolve({ filter: /^vitest$/ }, () => ({ path: 'vitest', namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
            contents: 'export const describe = () => {}, it = () => {}, beforeAll = () => {};',
            loader: 'js',
          }));
        },
      },
    ],
  });
  bundle = out.outputFiles[0]!.text;
  server = createServer((req, res) => {
    if (req.url === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  profile = mkdtempSync(join(tmpdir(), 'tessera-chromium-'));
});

afterAll(async () => {
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('headless Chromium', () => {
  it('the bundle leaves the Node addon out', (ctx) => {
    if (!existsSync(CHROMIUM)) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    expect(bundle).toContain('navigator');
    expect(bundle).not.toMatch(/dawn\.node|createRequire/);
  });

  it('runs matmul and conv2d conformance and a training step on navigator.gpu', async (ctx) => {
    if (!existsSync(CHROMIUM)) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(url);
      await page.waitForFunction(() => typeof (globalThis as { runChecks?: unknown }).runChecks === 'function', undefined, { timeout: 60_000 });
      const hasGpu = await page.evaluate(async () => {
        const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
        return gpu ? (await gpu.requestAdapter()) !== null : false;
      });
      if (!hasGpu) return ctx.skip('Chromium exposes no WebGPU adapter here');
      const report = (await page.evaluate(
        (runs) => (globalThis as unknown as { runChecks(n: number): Promise<BrowserReport> }).runChecks(runs),
        6,
      )) as BrowserReport;
      console.log(`browser: ${report.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? report.userAgent} on ${report.adapter}`);
      expect(errors).toEqual([]);
      expect(report.userAgent).toMatch(/Chrome/);
      expect(report.adapter.length).toBeGreaterThan(0);
      expect(report.results.map((r) => r.name)).toHaveLength(3);
      for (const r of report.results) expect(r, r.detail).toMatchObject({ ok: true });
    } finally {
      await browser.close();
    }
  });
});
