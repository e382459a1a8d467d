// The built app (apps/web/dist), served locally with COOP/COEP, driven in headless Chromium through its accessible
// names, for every backend the page finds available: train until the loss has fallen (pausing and resuming while
// it trains: the page must handle a click mid-training), classify a drawing and an uploaded JPEG, run the in-page
// conformance checks with 0 failed, save a checkpoint that the CLI's predict and eval accept (and agree with),
// load it back; load a checkpoint the CLI's train wrote; time the panel; no console errors. Screenshots of
// each panel go to apps/web/test-output/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fashionMnistAvailable, loadFashionMnist, renderSyntheticImage, FASHION_MNIST_DIR } from '@tessera/data';
import { SyntheticStream } from '@tessera/data/browser';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CLI, DIST, FLAGS, OUTPUT, ensureBuilt, run, writeSubset } from './helpers.js';
// @ts-expect-error -- a plain ES module without types
import { serveDist } from '../scripts/serve.mjs';

const haveChromium = existsSync(CHROMIUM);
const realData = fashionMnistAvailable(FASHION_MNIST_DIR);
const haveCli = existsSync(join(CLI, '../../dist/main.js'));
const TEST_IMAGES = 500;
/**
 * How much each backend trains. The CPU trains 40 steps of 32 on the first 1280 images; WebGPU and gpu.js run on
 * SwiftShader here (seconds per step), so they take 4 (gpu.js: 3) epochs of one batch of 8 images each — enough to see the
 * eval-mode loss on those images fall, within the CI budget.
 */
const PLAN: Record<string, { epochs: number; batch: number; images: number; test: number; lr: number; runs: number }> = {
  cpu: { epochs: 1, batch: 32, images: 1280, test: TEST_IMAGES, lr: 0.03, runs: 3 },
  webgpu: { epochs: 4, batch: 8, images: 8, test: 8, lr: 0.01, runs: 1 },
  gpujs: { epochs: 3, batch: 8, images: 8, test: 8, lr: 0.01, runs: 1 },
};

let server: Server | undefined;
let url = '';
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let work = '';
const problems: string[] = [];
/** The uploaded JPEG and its true class (a Fashion-MNIST test image, or a synthetic one without the data). */
let jpegPath = '';
let jpegLabel = -1;
let subsetDir = '';
const available: string[] = [];
const unavailable = new Map<string, string>();

interface Shown {
  name: string;
  index: number;
  probability: number;
}

async function predictions(): Promise<Shown[]> {
  return page
    .getByRole('list', { name: 'Predictions' })
    .locator('li')
    .evaluateAll((items) =>
      items.map((li) => ({
        name: li.textContent ?? '',
        index: Number((li as HTMLElement).dataset.index),
        probability: Number((li as HTMLElement).dataset.probability),
      })),
    );
}

/**
 * The page's top 5 and the CLI's agree: the same probability for every class both list (the image is decoded by
 * Chromium in one, libvips in the other, and the backends differ), and the same top class unless the first two are
 * within that tolerance.
 */
function samePredictions(page: Shown[], cli: { index: number; probability: number }[]): void {
  const tol = 0.01;
  for (const c of cli) {
    const p = page.find((x) => x.index === c.index);
    if (p) expect(Math.abs(p.probability - c.probability), `class ${c.index}`).toBeLessThan(tol);
    else expect(c.probability, `class ${c.index} is only in the CLI's top 5`).toBeLessThan(page.at(-1)!.probability + tol);
  }
  if (Math.abs(cli[0]!.probability - (cli[1]?.probability ?? 0)) > tol) expect(page[0]!.index).toBe(cli[0]!.index);
}

async function statusText(name: string): Promise<string> {
  return (await page.getByRole('status', { name }).textContent()) ?? '';
}

async function shoot(panel: string, file: string): Promise<void> {
  await page.locator(panel).screenshot({ path: join(OUTPUT, file) });
}

/** What the page shows in its status lines and error box: the text a failed wait reports. */
async function pageState(): Promise<string> {
  const read = page.evaluate(() =>
    [...document.querySelectorAll('[role=status], [role=alert]:not([hidden])')]
      .map((e) => `${e.getAttribute('aria-label')}: "${(e.textContent ?? '').trim().slice(0, 200)}"`)
      .join('; '),
  );
  const late = new Promise<string>((resolve) => setTimeout(() => resolve('(the page did not answer within 10 s)'), 10_000));
  const shown = await Promise.race([read, late]).catch((e: unknown) => `(the page did not answer: ${String(e).split('\n')[0]})`);
  return problems.length > 0 ? `${shown}; console: ${problems.slice(-3).join(' | ')}` : shown;
}

/** Waits for `target` to appear; a timeout names what it waited for and what the page showed instead. */
async function appears(target: Locator, timeout = 60_000): Promise<void> {
  try {
    await target.waitFor({ timeout });
  } catch (e) {
    await page.screenshot({ path: join(OUTPUT, 'failed-wait.png'), fullPage: true }).catch(() => undefined);
    throw new Error(`waited ${timeout / 1000} s for ${String(target)}: ${String(e).split('\n')[0]}; the page shows ${await pageState()}`);
  }
}

/**
 * A fresh page on the served app, once it has picked a backend. Each backend's tests get their own, so a failure
 * on one (a training run that never ends, a lost GPU device) cannot take the next ones down with it.
 */
async function openPage(tag: string): Promise<void> {
  if (page) await page.close().catch(() => undefined);
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${tag}: console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${tag}: page error: ${String(e)}`));
  page.on('crash', () => problems.push(`${tag}: the page crashed`));
  await page.goto(url);
  await appears(page.getByRole('status', { name: 'Backend status' }).filter({ hasText: /^using / }), 120_000);
}

beforeAll(async () => {
  if (!haveChromium) return;
  await ensureBuilt();
  mkdirSync(OUTPUT, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'tessera-web-'));
  ({ server, url } = (await serveDist({ dir: DIST })) as { server: Server; url: string });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 1100 } });
  // A click on a control that never becomes usable fails after two minutes, naming it, instead of hanging.
  context.setDefaultTimeout(120_000);
  await openPage('start');
  for (const li of await page.getByRole('list', { name: 'Backends' }).locator('li').allTextContents()) {
    const m = /^(\w+): (available|unavailable — (.*))/.exec(li);
    if (!m) continue;
    if (m[2] === 'available' || m[2]!.startsWith('available')) available.push(m[1]!);
    else unavailable.set(m[1]!, m[3] ?? '');
  }
  // The JPEG: drawn into a canvas in the page and encoded by Chromium.
  let gray: Uint8Array;
  if (realData) {
    const test = loadFashionMnist({ split: 'test' });
    const i = test.labels.findIndex((l) => l === 1); // a trouser: a class a briefly trained model knows
    gray = test.images.slice(i * 784, (i + 1) * 784);
    jpegLabel = 1;
    const train = loadFashionMnist({ split: 'train' });
    subsetDir = join(work, 'fashion-subset');
    writeSubset(subsetDir, { train: train.images, trainLabels: train.labels, test: test.images, testLabels: test.labels }, 640, TEST_IMAGES);
  } else {
    const drawn = renderSyntheticImage(3, 10, 28, 28, new SyntheticStream(7, 9, 0));
    gray = Uint8Array.from({ length: 784 }, (_, p) =>
      Math.round(0.299 * drawn.pixels[3 * p]! + 0.587 * drawn.pixels[3 * p + 1]! + 0.114 * drawn.pixels[3 * p + 2]!),
    );
    jpegLabel = 3;
  }
  const dataUrl = await page.evaluate((px) => {
    const c = document.createElement('canvas');
    c.width = 28;
    c.height = 28;
    const img = new ImageData(28, 28);
    px.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
    c.getContext('2d')!.putImageData(img, 0, 0);
    return c.toDataURL('image/jpeg', 0.95);
  }, Array.from(gray));
  jpegPath = join(work, 'item.jpg');
  writeFileSync(jpegPath, Buffer.from(dataUrl.split(',')[1]!, 'base64'));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the built app', () => {
  it('keeps Node-only code out and reports its gzipped JavaScript', (ctx) => {
    if (!existsSync(join(DIST, 'index.html'))) return ctx.skip('no build');
    const assets = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js'));
    let raw = 0;
    let gz = 0;
    for (const f of assets) {
      const text = readFileSync(join(DIST, 'assets', f));
      raw += text.length;
      gz += gzipSync(text).length;
      // No static import of a Node built-in, Dawn's addon or sharp (dynamic import()s in Node-only paths stay bare).
      expect(text.toString(), f).not.toMatch(/(?:^|[;\s])import\s*[^("'`]*?from\s*["'](?:node:|fs["']|sharp["']|webgpu["'])/m);
      expect(text.toString(), f).not.toMatch(/dawn\.node|webgl\.node|sharp-[a-z]+-[a-z0-9]+\.node/);
    }
    console.log(`bundle: ${assets.length} JS files, ${(raw / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzipped`);
    expect(existsSync(join(DIST, 'data', 'imagenet-classes.json'))).toBe(true);
    if (realData) expect(existsSync(join(DIST, 'data', 'fashion-mnist', 'manifest.json'))).toBe(true);
  });

  it('lists every backend with its availability and says which data it uses', async (ctx) => {
    if (!haveChromium) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    console.log(`backends: ${available.join(', ')} available; ${[...unavailable].map(([n, r]) => `${n}: ${r}`).join('; ') || 'none unavailable'}`);
    expect(available).toContain('cpu');
    expect(available.length + unavailable.size).toBeGreaterThanOrEqual(3);
    // The served build is cross-origin isolated (COOP/COEP from scripts/serve.mjs).
    expect(await statusText('Backend status')).toMatch(/; page cross-origin isolated\)$/);
    const data = await statusText('Data');
    expect(data).toMatch(realData ? /^Data: Fashion-MNIST from the files served with the app/ : /^Data: synthetic images/);
    await shoot('header', 'header.png');
  });
});

for (const backend of ['cpu', 'webgpu', 'gpujs']) {
  describe(`on ${backend}`, () => {
    let skip: string | null = null;
    let saved: { json: string; weights: string } | null = null;
    let fromJpeg: Shown[] = [];
    let testAccuracy = NaN;

    beforeAll(async () => {
      if (!haveChromium) skip = `no Chromium at ${CHROMIUM}`;
      else if (!available.includes(backend)) skip = `${backend} is unavailable here: ${unavailable.get(backend) ?? 'not listed'}`;
      if (skip) console.log(`${backend}: skipped — ${skip}`);
      else await openPage(backend);
    }, 180_000);

    it('trains until the loss has fallen, pausing and resuming mid-training', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await page.getByRole('combobox', { name: 'Backend' }).selectOption(backend);
      await appears(page.getByRole('status', { name: 'Backend status' }).filter({ hasText: `using ${backend}` }));
      expect(await page.evaluate(() => localStorage.getItem('tessera.backend'))).toBe(backend);
      if (backend === 'cpu') {
        // The cpu backend splits large products across Web Workers started from the engine's worker (shared memory:
        // the page is cross-origin isolated), one thread per core up to 8.
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        const threads = Math.min(8, Math.max(1, cores));
        expect(await statusText('Backend status')).toContain(`worker, ${threads} thread${threads === 1 ? '' : 's'};`);
      }
      const plan = PLAN[backend]!;
      await page.getByRole('button', { name: 'New model' }).click();
      await page.getByLabel('Epochs', { exact: true }).fill(String(plan.epochs));
      await page.getByLabel('Batch size', { exact: true }).fill(String(plan.batch));
      await page.getByLabel('Learning rate', { exact: true }).fill(String(plan.lr));
      await page.getByLabel('Training images', { exact: true }).fill(String(plan.images));
      await page.getByLabel('Test images', { exact: true }).fill(String(plan.test));
      await page.getByRole('button', { name: 'Train' }).click();
      const status = page.getByRole('status', { name: 'Training status' });
      await appears(status.filter({ hasText: plan.epochs === 1 ? /step [3-9]\b/ : /step [1-9]\b/ }), 120_000);
      // The click is handled while training runs: the loop stops between steps, and resumes.
      await page.getByRole('button', { name: 'Pause' }).click();
      await appears(status.filter({ hasText: /^paused/ }));
      const atPause = await status.textContent();
      await page.waitForTimeout(1000);
      expect(await status.textContent()).toBe(atPause);
      await page.getByRole('button', { name: 'Resume' }).click();
      await appears(status.filter({ hasText: /^done/ }), 300_000);
      const final = (await status.textContent()) ?? '';
      const steps = plan.epochs * Math.ceil(plan.images / plan.batch);
      expect(final).toMatch(new RegExp(`step ${steps}\\b`));
      // The eval-mode loss on the training images, before training (row 0) and after the last epoch.
      const rows = await page
        .getByRole('table', { name: 'Epoch results' })
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
      expect(rows).toHaveLength(plan.epochs + 1);
      const before = Number(rows[0]![2]);
      const after = Number(rows.at(-1)![2]);
      console.log(`${backend}: loss on the ${plan.images} training images ${before} before, ${after} after ${steps} steps — ${final}`);
      expect(after).toBeLessThan(before * 0.8);
      testAccuracy = Number(/([\d.]+)%/.exec(rows.at(-1)![3]!)![1]) / 100;
      if (backend === 'cpu') expect(testAccuracy).toBeGreaterThan(0.3);
      await shoot('#panel-train', `${backend}-train.png`);
    });

    it('classifies a drawn image and an uploaded JPEG', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const canvas = page.getByLabel('Drawing', { exact: true });
      await page.getByRole('button', { name: 'Clear' }).click();
      const box = (await canvas.boundingBox())!;
      // Two legs and a waistband: a trouser, roughly.
      for (const [x0, y0, x1, y1] of [
        [0.35, 0.15, 0.3, 0.9],
        [0.65, 0.15, 0.7, 0.9],
        [0.33, 0.15, 0.67, 0.15],
      ] as const) {
        await page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
        await page.mouse.down();
        await page.mouse.move(box.x + x1 * box.width, box.y + y1 * box.height, { steps: 8 });
        await page.mouse.up();
      }
      const list = page.getByRole('list', { name: 'Predictions' });
      await appears(list.and(page.locator('[data-source="drawing"]')));
      const drawn = await predictions();
      expect(drawn).toHaveLength(5);
      for (const p of drawn) expect(p.name).toMatch(/^.+ \d{1,3}\.\d\d%$/);
      const total = drawn.reduce((s, p) => s + p.probability, 0);
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThanOrEqual(1 + 1e-5);

      await page.getByLabel('Image', { exact: true }).setInputFiles(jpegPath);
      await appears(list.and(page.locator('[data-source="item.jpg"]')));
      fromJpeg = await predictions();
      expect(fromJpeg).toHaveLength(5);
      if (backend === 'cpu') expect(fromJpeg.map((p) => p.index)).toContain(jpegLabel);
      console.log(`${backend}: the JPEG (class ${jpegLabel}) → ${fromJpeg.map((p) => p.name).join(', ')}`);
      await shoot('#panel-classify', `${backend}-classify.png`);
    });

    it('passes the conformance checks in the page (reduced runs)', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await page.getByLabel('Runs per check', { exact: true }).fill(String(PLAN[backend]!.runs));
      await page.getByRole('button', { name: 'Run conformance' }).click();
      const status = page.getByRole('status', { name: 'Conformance' });
      await appears(status.filter({ hasText: /\d+ passed, \d+ failed$/ }), 400_000);
      const text = (await status.textContent()) ?? '';
      console.log(`${backend}: conformance — ${text}`);
      const [, passed, failed] = /(\d+) passed, (\d+) failed$/.exec(text)!;
      const failures = await page.getByRole('table', { name: 'Conformance results' }).locator('pre').allTextContents();
      expect(failures.join('\n')).toBe('');
      expect(Number(failed)).toBe(0);
      expect(Number(passed)).toBeGreaterThanOrEqual(30);
      await shoot('#panel-check', `${backend}-check.png`);
    });

    it('saves a checkpoint the CLI accepts, and loads it back', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const dir = join(work, `saved-${backend}`);
      mkdirSync(dir, { recursive: true });
      const downloads = new Promise<string[]>((resolve) => {
        const names: string[] = [];
        page.on('download', async function onDownload(d) {
          const path = join(dir, d.suggestedFilename());
          await d.saveAs(path);
          names.push(path);
          if (names.length === 2) {
            page.off('download', onDownload);
            resolve(names);
          }
        });
      });
      await page.getByRole('button', { name: 'Save checkpoint' }).click();
      const files = await Promise.race([downloads, page.waitForTimeout(60_000).then(() => Promise.reject(new Error('the two downloads did not come')))]);
      const json = files.find((f) => f.endsWith('.json'))!;
      const weights = files.find((f) => f.endsWith('.safetensors'))!;
      const name = `epoch-${String(PLAN[backend]!.epochs).padStart(4, '0')}.json`;
      expect(json.endsWith(name), json).toBe(true);
      saved = { json, weights };

      if (haveCli) {
        const r = await run('node', [CLI, 'predict', jpegPath, '--checkpoint', json, '--backend', 'cpu', '--json'], { timeoutMs: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        const cli = (JSON.parse(r.stdout) as { top: { index: number; probability: number }[] }[])[0]!.top;
        samePredictions(fromJpeg, cli);
        if (subsetDir && backend === 'cpu') {
          // The CLI's eval on the same first TEST_IMAGES test images agrees with the page's end-of-epoch accuracy.
          const e = await run('node', [CLI, 'eval', '--checkpoint', json, '--data', `fashion-mnist:${subsetDir}`, '--backend', 'cpu', '--json'], {
            timeoutMs: 120_000,
          });
          expect(e.status, e.stderr).toBe(0);
          const centre = (JSON.parse(e.stdout) as { centre: { top1Error: number; count: number } }).centre;
          expect(centre.count).toBe(TEST_IMAGES);
          expect(Math.abs(1 - centre.top1Error - testAccuracy)).toBeLessThanOrEqual(2 / TEST_IMAGES + 1e-9);
        }
      } else console.log(`${backend}: the CLI is not built (apps/cli/dist); its half of the round trip is left out`);

      await page.getByRole('button', { name: 'New model' }).click();
      await appears(page.getByRole('status', { name: 'Model' }).filter({ hasText: /^no model yet/ }));
      await page.getByLabel('Checkpoint files', { exact: true }).setInputFiles([json, weights]);
      await appears(page.getByRole('status', { name: 'Model' }).filter({ hasText: `checkpoint ${name}` }));
      await page.getByLabel('Image', { exact: true }).setInputFiles(jpegPath);
      await appears(page.getByRole('list', { name: 'Predictions' }).and(page.locator('[data-source="item.jpg"]')));
      const again = await predictions();
      expect(again.map((p) => p.index)).toEqual(fromJpeg.map((p) => p.index));
      again.forEach((p, i) => expect(p.probability).toBeCloseTo(fromJpeg[i]!.probability, 6));
      expect(saved).not.toBeNull();
    });
  });
}

describe('checkpoints from the CLI and the Time panel', () => {
  beforeAll(async () => {
    if (haveChromium) await openPage('cli');
  }, 180_000);

  it('loads a checkpoint `tessera train` wrote and classifies as `tessera predict` does', async (ctx) => {
    if (!haveChromium) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    if (!haveCli) return ctx.skip('the CLI is not built (apps/cli/dist)');
    if (!subsetDir) return ctx.skip(`Fashion-MNIST is not installed at ${FASHION_MNIST_DIR}`);
    const out = join(work, 'cli-run');
    const t = await run(
      'node',
      [CLI, 'train', '--data', `fashion-mnist:${subsetDir}`, '--epochs', '1', '--batch-size', '64', '--out', out, '--backend', 'cpu'],
      {
        timeoutMs: 240_000,
      },
    );
    expect(t.status, t.stderr).toBe(0);
    const json = join(out, 'checkpoints', 'epoch-0001.json');
    const sidecar = existsSync(json)
      ? json
      : readdirSync(out, { recursive: true })
          .map(String)
          .find((f) => f.endsWith('epoch-0001.json'));
    expect(sidecar, `no epoch-0001.json under ${out}: ${readdirSync(out, { recursive: true }).join(', ')}`).toBeTruthy();
    const sidecarPath = sidecar === json ? json : join(out, sidecar!);
    const weights = join(sidecarPath, '..', 'epoch-0001.safetensors');
    await page.getByRole('combobox', { name: 'Backend' }).selectOption('cpu');
    await appears(page.getByRole('status', { name: 'Backend status' }).filter({ hasText: 'using cpu' }));
    await page.getByLabel('Checkpoint files', { exact: true }).setInputFiles([sidecarPath, weights]);
    await appears(page.getByRole('status', { name: 'Model' }).filter({ hasText: 'checkpoint epoch-0001.json' }));
    await page.getByLabel('Image', { exact: true }).setInputFiles([]);
    await page.getByLabel('Image', { exact: true }).setInputFiles(jpegPath);
    await appears(page.getByRole('list', { name: 'Predictions' }).and(page.locator('[data-source="item.jpg"]')));
    const shown = await predictions();
    const r = await run('node', [CLI, 'predict', jpegPath, '--checkpoint', sidecarPath, '--backend', 'cpu', '--json'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const cli = (JSON.parse(r.stdout) as { top: { index: number; probability: number }[] }[])[0]!.top;
    samePredictions(shown, cli);
  });

  it('times forward and training steps of the reduced AlexNet on every available backend', async (ctx) => {
    if (!haveChromium) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    await page.getByLabel('Timing batch size', { exact: true }).fill('2');
    await page.getByLabel('Repetitions', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Run timing' }).click();
    await appears(page.getByRole('status', { name: 'Timing' }).filter({ hasText: /timings done/ }), 200_000);
    const rows = await page
      .getByRole('table', { name: 'Timings' })
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    console.log(`timings:\n${rows.map((r) => r.join(' · ')).join('\n')}`);
    expect(rows.map((r) => r[0])).toEqual(available);
    for (const r of rows) {
      expect(Number(r[3])).toBeGreaterThan(0);
      expect(Number(r[4])).toBeGreaterThan(Number(r[3]) * 0.5);
    }
    await shoot('#panel-time', 'time.png');
    await page.screenshot({ path: join(OUTPUT, 'page.png'), fullPage: true });
  });

  it('showed no console errors', async (ctx) => {
    if (!haveChromium) return ctx.skip(`no Chromium at ${CHROMIUM}`);
    expect(problems).toEqual([]);
    expect(await page.getByRole('alert', { name: 'Error', includeHidden: true }).isHidden()).toBe(true);
  });
});
