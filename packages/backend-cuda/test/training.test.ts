// A few SGD steps of a small CNN on `cuda` match `cpu` (skipped, with the reason, without a usable GPU).
process.env.TESSERA_CUDA_MATH ??= 'fp32';
import { backendByName } from '@tessera/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareCnnSteps } from '../gpu/cnn-step.js';
import '../src/index.js';

describe('training step: cuda vs cpu', () => {
  let unavailable: string | null = null;
  beforeAll(async () => {
    try {
      await backendByName('cuda');
    } catch (err) {
      unavailable = err instanceof Error ? err.message : String(err);
    }
  });
  it('three SGD-momentum steps of a small CNN agree with the CPU backend', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const r = await compareCnnSteps('cuda');
    expect(r.worstLoss).toBeLessThan(1e-4);
    expect(r.worstParam.diff).toBeLessThan(1e-4 * Math.max(1, r.worstParam.scale));
  });
});
