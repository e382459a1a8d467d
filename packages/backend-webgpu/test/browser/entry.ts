// Runs in headless Chromium from an esbuild bundle of this package (see ../browser.test.ts): the catalogue's
// matmul and conv2d conformance cases and the small-CNN training step, webgpu (navigator.gpu) against the CPU
// backend, exactly as in Node.
import { backendByName } from '@tessera/tensor';
import { OP_CASES, compareEvaluations, evaluate } from '@tessera/tensor/testing';
import fc from 'fast-check';
import { type WebGpuBackend } from '../../src/index.js';
import { compareRuns, trainSmallCnn } from '@tessera/tensor/testing';

export interface BrowserReport {
  adapter: string;
  userAgent: string;
  results: { name: string; ok: boolean; detail?: string }[];
}

async function runChecks(numRuns: number): Promise<BrowserReport> {
  const backend = (await backendByName('webgpu')) as WebGpuBackend;
  await backendByName('cpu');
  const results: BrowserReport['results'] = [];
  for (const prefix of ['batched matmul', 'conv2d forward']) {
    const c = OP_CASES.find((k) => k.name.startsWith(prefix))!;
    try {
      await fc.assert(
        fc.asyncProperty(c.arb, async (inst) => {
          const want = await evaluate('cpu', 'float64', inst, true);
          const got = await evaluate('webgpu', 'float32', inst, true);
          compareEvaluations(`${c.name} (${inst.label})`, got, want, c.tol);
        }),
        { numRuns },
      );
      results.push({ name: `conformance: ${c.name}`, ok: true });
    } catch (err) {
      results.push({ name: `conformance: ${c.name}`, ok: false, detail: String(err) });
    }
  }
  try {
    const diff = compareRuns(await trainSmallCnn('webgpu', 3), await trainSmallCnn('cpu', 3));
    results.push({ name: 'training step: small CNN, webgpu against cpu', ok: diff === null, ...(diff ? { detail: diff } : {}) });
  } catch (err) {
    results.push({ name: 'training step: small CNN, webgpu against cpu', ok: false, detail: String(err) });
  }
  return { adapter: backend.adapter, userAgent: (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '', results };
}

(globalThis as { runChecks?: typeof runChecks }).runChecks = runChecks;
