// The browser path is real: this package is bundled for the browser (esbuild, platform "browser") and the whole
// conformance kit runs in headless Chromium on its WebGL2 context (SwiftShader here), with the Philox cases
// and a training step of a small CNN, all against the CPU backend in the same page.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserReport } from './browser/entry.js';
import { CHROMIUM, FLAGS, bundleEntry, serve } from './browser/page.js';

let bundle = '';
let server: Server | undefined;
let url = '';
let profile = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  bundle = await bundleEntry();
  ({ server, url } = await serve(bundle));
  profile = mkdtempSync(join(tmpdir(), 'tessera-gpujs-chromium-'));
});

afterAll(async () => {
  server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('headless Chromium (WebGL2)', () => {
  it('the bundle carries gpu.js for the browser and no Node GL binding', (ctx) => {
    if (!existsSync(CHROMIUM)) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    expect(bundle).toContain('WebGL2Kernel');
    // gpu.js's browser build keeps a guarded require('gl') (it throws, and headless-gl stays off); the native
    // binding itself must not be bundled.
    expect(bundle).not.toMatch(/webgl\.node|createRequire/);
  });

  it('passes the conformance kit and a training step on gpujs', async (ctx) => {
    if (!existsSync(CHROMIUM)) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(url);
      await page.waitForFunction(() => typeof (globalThis as { runChecks?: unknown }).runChecks === 'function', undefined, { timeout: 60_000 });
      const hasWebGl2 = await page.evaluate(() => document.createElement('canvas').getContext('webgl2') !== null);
      if (!hasWebGl2) return ctx.skip('Chromium offers no WebGL2 context here');
      const runs = Number(process.env.TESSERA_CONFORMANCE_RUNS ?? 10);
      const report = (await page.evaluate(
        (n) => (globalThis as unknown as { runChecks(n: number): Promise<BrowserReport> }).runChecks(n),
        runs,
      )) as BrowserReport;
      console.log(`browser: ${report.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? report.userAgent} on ${report.adapter}`);
      expect(errors).toEqual([]);
      expect(report.adapter).toMatch(/WebGL2Kernel/);
      expect(report.results.length).toBeGreaterThan(30);
      for (const r of report.results) expect(r, r.detail).toMatchObject({ ok: true });
    } finally {
      await browser.close();
    }
  });
});
