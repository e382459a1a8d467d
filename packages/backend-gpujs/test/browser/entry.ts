// Runs in headless Chromium from an esbuild bundle of this package (see ../browser.test.ts): the whole
// conformance kit (describeConformance('gpujs'), collected through the vitest stand-in) and the small-CNN
// training step, gpujs on the page's WebGL2 against the CPU backend.
import { backendByName } from '@tessera/tensor';
import { describeConformance } from '@tessera/tensor/testing';
import '../../src/index.js';
import type { GpujsBackend } from '../../src/index.js';
import { RANDOM_CASES, compareRandom } from '../shared/random-check.js';
import { compareRuns, trainSmallCnn } from '@tessera/tensor/testing';
import { collected } from './vitest-shim.js';

export interface BrowserReport {
  adapter: string;
  userAgent: string;
  results: { name: string; ok: boolean; skipped?: boolean; detail?: string }[];
}

class Skipped extends Error {}

/** The error with its cause (fast-check puts the failing assertion there). */
function describeError(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return (String(err).split('Hint:')[0]! + (cause ? `\ncause: ${String(cause)}` : '')).slice(0, 3000);
}

async function runChecks(numRuns: number, filter = ''): Promise<BrowserReport> {
  collected.tests.length = 0;
  collected.beforeAll.length = 0;
  describeConformance('gpujs', { numRuns });
  const backend = (await backendByName('gpujs')) as GpujsBackend;
  await backendByName('cpu');
  for (const hook of collected.beforeAll) await hook();
  const results: BrowserReport['results'] = [];
  for (const t of collected.tests) {
    if (filter && !t.name.includes(filter)) continue;
    try {
      await t.fn({
        skip(reason?: string) {
          throw new Skipped(reason ?? 'skipped');
        },
      });
      results.push({ name: t.name, ok: true });
    } catch (err) {
      if (err instanceof Skipped) results.push({ name: t.name, ok: false, skipped: true, detail: err.message });
      else results.push({ name: t.name, ok: false, detail: describeError(err) });
    }
  }
  if (!filter || 'random cases'.includes(filter)) {
    const name = 'random: Philox fills at fixed parameters (offsets across word boundaries) against cpu';
    try {
      let diff: string | null = null;
      for (const c of RANDOM_CASES) diff ??= await compareRandom('gpujs', c);
      results.push({ name, ok: diff === null, ...(diff ? { detail: diff } : {}) });
    } catch (err) {
      results.push({ name, ok: false, detail: describeError(err) });
    }
  }
  if (!filter || 'training'.includes(filter)) {
    const name = 'training step: small CNN, gpujs against cpu';
    try {
      const diff = compareRuns(await trainSmallCnn('gpujs', 3), await trainSmallCnn('cpu', 3));
      results.push({ name, ok: diff === null, ...(diff ? { detail: diff } : {}) });
    } catch (err) {
      results.push({ name, ok: false, detail: String(err) });
    }
  }
  return { adapter: backend.adapter, userAgent: (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '', results };
}

(globalThis as { runChecks?: typeof runChecks }).runChecks = runChecks;
