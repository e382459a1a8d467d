#!/usr/bin/env node
// tessera's gpujs backend beside @tensorflow/tfjs-backend-webgl, in one headless Chromium page on one WebGL2
// implementation (SwiftShader here), plus tessera's webgpu backend in the same page (SwiftShader's WebGPU
// adapter): AlexNet (torchvision widths) forward in inference mode and one training step, ms per image,
// best of BENCH_REPS after a warm-up, each ending with a read of the result. Ratios > 1 mean gpujs is faster.
// Knobs: BENCH_BATCH (default 1), BENCH_REPS (default 1), TESSERA_CHROMIUM (default /usr/bin/chromium).
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BATCH = Number(process.env.BENCH_BATCH ?? 1);
const REPS = Number(process.env.BENCH_REPS ?? 1);
const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-swiftshader',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
];

const out = await build({
  entryPoints: [join(here, 'alexnet-page.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'error',
});
const bundle = out.outputFiles[0].text;
const server = createServer((req, res) => {
  if (req.url === '/bundle.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(bundle);
  } else {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>');
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  await page.goto(url);
  await page.waitForFunction(() => typeof globalThis.runBench === 'function', undefined, { timeout: 120_000 });
  const ua = await page.evaluate(() => globalThis.navigator.userAgent);
  console.log(`${ua.match(/Chrome\/[\d.]+/)?.[0] ?? ua}, batch ${BATCH}, best of ${REPS} after a warm-up`);
  const r = await page.evaluate(([b, n]) => globalThis.runBench(b, n), [BATCH, REPS]);
  console.log(`gpujs on ${r.renderer}`);
  if (r.maxDiffTfjs !== null)
    console.log(`forward check: max |gpujs − tfjs-webgl| = ${r.maxDiffTfjs.toExponential(2)} (logits up to ${r.logitScale.toFixed(3)})`);
  if (r.maxDiffWebgpu !== null) console.log(`forward check: max |gpujs − webgpu| = ${r.maxDiffWebgpu.toExponential(2)}`);
  if (!r.webgpu) console.log(`webgpu: unavailable in this page (${r.webgpuReason})`);
  const perImg = (ms) => (ms / BATCH).toFixed(0);
  const ratio = (peer, ours) => (peer === undefined ? '—' : `${(peer / ours).toFixed(2)}×`);
  console.log('\n| AlexNet, ms/img | gpujs | tfjs-webgl | gpujs vs tfjs-webgl | tessera webgpu | gpujs vs webgpu |\n| --- | --- | --- | --- | --- | --- |');
  for (const [what, key] of [
    [`forward, batch ${BATCH}`, 'forwardMs'],
    [`training step, batch ${BATCH}`, 'stepMs'],
  ]) {
    const o = r.gpujs[key];
    const t = r.tfjs?.[key];
    const w = r.webgpu?.[key];
    console.log(`| ${what} | ${perImg(o)} | ${t === undefined ? '—' : perImg(t)} | ${ratio(t, o)} | ${w === undefined ? '—' : perImg(w)} | ${ratio(w, o)} |`);
  }
  if (r.maxDiffTfjs !== null && !(r.maxDiffTfjs <= 1e-3 * Math.max(1, r.logitScale))) {
    console.error('the gpujs and tfjs-webgl forwards disagree');
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  server.close();
}
