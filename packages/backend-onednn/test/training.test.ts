// Training on `onednn` against the CPU reference: the reduced AlexNet (grouped convs, LRN, padded overlapping
// pools, dropout, linear, cross-entropy, SGD with momentum and weight decay) from the same seed takes the same
// steps; a steady-state training loop obtains no new storage; tensors and bytes stay constant (no leak).
import { F, type Tensor, backendByName, manualSeed, memory, optim, randn, setBackend, tensor, tidy } from '@tessera/tensor';
import { alexnet } from '@tessera/alexnet';
import { beforeAll, describe, expect, it } from 'vitest';
import { type OnednnBackend } from '../src/index.js';

let skip: string | null = null;
beforeAll(async () => {
  try {
    await backendByName('onednn');
  } catch (err) {
    skip = err instanceof Error ? err.message : String(err);
  }
});

interface Run {
  losses: number[];
  params: Float32Array[];
}

/** `steps` SGD steps of the reduced AlexNet on `backend`, from fixed seeds (init, data and dropout). */
async function train(backend: string, steps: number, batch = 6): Promise<Run> {
  await setBackend(backend);
  manualSeed(99);
  const model = alexnet({ variant: 'reduced', seed: 7, numClasses: 5 });
  model.train();
  const x = randn([batch, 1, 28, 28], { seed: 11 });
  const y = tensor(
    Int32Array.from({ length: batch }, (_, i) => (i * 3) % 5),
    [batch],
  );
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = F.crossEntropy(model.forward(x), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    losses.push(await loss.item());
    loss.dispose();
  }
  const params = await Promise.all(model.parameters().map(async (p) => Float32Array.from(await p.data())));
  opt.zeroGrad();
  model.parameters().forEach((p: Tensor) => p.dispose());
  x.dispose();
  y.dispose();
  return { losses, params };
}

describe('training on onednn', () => {
  it('three SGD steps of the reduced AlexNet match the cpu backend (losses and every weight)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const ours = await train('onednn', 3);
    const ref = await train('cpu', 3);
    expect(Math.abs(ref.losses[2]! - ref.losses[0]!), 'the loss must move for the comparison to mean anything').toBeGreaterThan(1e-3);
    for (let i = 0; i < ref.losses.length; i++) expect(Math.abs(ours.losses[i]! - ref.losses[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(ref.losses[i]!)));
    expect(ours.params.length).toBe(ref.params.length);
    for (let p = 0; p < ref.params.length; p++) {
      const a = ours.params[p]!;
      const b = ref.params[p]!;
      let worst = 0;
      for (let j = 0; j < b.length; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!) - 1e-3 * Math.abs(b[j]!));
      expect(worst, `parameter ${p}`).toBeLessThanOrEqual(1e-4);
    }
  });

  it('a steady-state training loop allocates no new storage and leaks no tensors or bytes', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const backend = (await setBackend('onednn')) as OnednnBackend;
    const model = alexnet({ variant: 'reduced', seed: 3, numClasses: 10 });
    model.train();
    const x = randn([8, 1, 28, 28], { seed: 5 });
    const y = tensor(
      Int32Array.from({ length: 8 }, (_, i) => i % 10),
      [8],
    );
    const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const step = () =>
      tidy(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
      });
    for (let i = 0; i < 3; i++) step();
    const before = memory();
    const allocations = backend.stats().allocations;
    const primitives = backend.stats().primitives;
    for (let i = 0; i < 20; i++) step();
    const after = memory();
    expect(backend.stats().allocations, 'storage obtained during 20 steady-state steps').toBe(allocations);
    expect(backend.stats().primitives, 'convolution primitives created during steady state').toBe(primitives);
    expect(after.tensors).toBe(before.tensors);
    expect(after.bytes).toBe(before.bytes);
    expect(after.backends.onednn?.bytesReserved).toBe(before.backends.onednn?.bytesReserved);
    opt.zeroGrad();
    model.parameters().forEach((p) => p.dispose());
    x.dispose();
    y.dispose();
    await setBackend('cpu');
  });
});
