// A training step of a small CNN on webgpu matches the same steps on the CPU backend from the same seed: same
// initialisation (Philox), same dropout masks, losses and updated weights within tolerance.
import { beforeAll, describe, expect, it } from 'vitest';
import { adapterSkipReason } from './adapter.js';
import { compareRuns, trainSmallCnn } from '@tessera/tensor/testing';

let skip: string | null = null;
beforeAll(async () => {
  skip = await adapterSkipReason('webgpu');
});

describe('training step: webgpu against cpu', () => {
  it('three SGD steps of a small CNN give the same losses and weights', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const gpu = await trainSmallCnn('webgpu', 3);
    const cpu = await trainSmallCnn('cpu', 3);
    expect(compareRuns(gpu, cpu)).toBeNull();
  });
});
