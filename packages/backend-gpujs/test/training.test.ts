// A training step of a small CNN on gpujs matches the same steps on the CPU backend from the same seed (same
// Philox initialisation and dropout masks), and a long loop keeps memory() and the live texture count flat.
import { backendByName, memory } from '@tessera/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GpujsBackend } from '../src/index.js';
import { skipReason } from './available.js';
import { compareRuns, trainSmallCnn } from '@tessera/tensor/testing';

let skip: string | null = null;
beforeAll(async () => {
  skip = await skipReason();
});

describe('training: gpujs against cpu', () => {
  it('three SGD steps of a small CNN give the same losses and weights', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const gpu = await trainSmallCnn('gpujs', 3);
    const cpu = await trainSmallCnn('cpu', 3);
    expect(compareRuns(gpu, cpu)).toBeNull();
  });

  it('1000 steps keep memory() and the live texture count flat', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const backend = (await backendByName('gpujs')) as GpujsBackend;
    const sample = () => ({ memory: memory().backends.gpujs, textures: backend.liveTextures, reserved: backend.memory() });
    const before = sample();
    let afterWarmUp: ReturnType<typeof sample> | null = null;
    let worst = 0;
    await trainSmallCnn('gpujs', 1000, (step) => {
      if (step === 9) afterWarmUp = sample();
      if (step >= 9) worst = Math.max(worst, backend.liveTextures);
    });
    // From step 10 to step 1000 nothing grows; once the run has freed its tensors, nothing is left over.
    expect(afterWarmUp).not.toBeNull();
    expect(worst).toBe(afterWarmUp!.textures);
    expect(sample()).toEqual(before);
  });
});
