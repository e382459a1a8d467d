// A few SGD steps of a small CNN on `cuda` (the host emulator unless TESSERA_CUDA_EMULATE=0) match `cpu`, with
// exact fp32 GEMMs and with TF32 tensor-core GEMMs (at TF32's tolerance).
import './emulator-target.js';
import { backendByName } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import { compareCnnSteps } from '../gpu/cnn-step.js';
import type { CudaBackend } from '../src/index.js';
import '../src/index.js';

describe('training step: cuda vs cpu', () => {
  for (const [math, tol] of [
    ['fp32', 1e-4],
    ['tf32', 2e-2],
  ] as const) {
    it(`three SGD-momentum steps of a small CNN agree with the CPU backend (${math})`, async () => {
      const cuda = (await backendByName('cuda')) as CudaBackend;
      cuda.math = math;
      const r = await compareCnnSteps('cuda');
      expect(r.worstLoss).toBeLessThan(tol);
      expect(r.worstParam.diff).toBeLessThan(tol * Math.max(1, r.worstParam.scale));
      if (math === 'tf32') expect(r.worstParam.diff, 'TF32 rounding should be visible').toBeGreaterThan(0);
    });
  }
});
