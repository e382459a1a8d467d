/**
 * A few SGD steps of a small CNN on one backend, from fixed seeds — the training check every backend runs
 * against `cpu` (in Node and in its headless-browser check). Covers conv + bias, ReLU, max-pool, LRN, a grouped
 * strided conv, adaptive average pooling, dropout, linear, cross-entropy and SGD with momentum and weight decay.
 */
import { F, type Tensor, backendByName, manualSeed, optim, randn, tensor, tidy, zeros } from '../index.js';

export interface TrainRun {
  losses: number[];
  params: Float32Array[];
}

/** `onStep(step)` runs after each step's loss has been read (the leak test samples memory there). */
export async function trainSmallCnn(backend: string, steps: number, onStep?: (step: number) => void): Promise<TrainRun> {
  await backendByName(backend);
  manualSeed(1234);
  const p = (shape: number[], seed: number, std: number) => randn(shape, { seed, std, backend, requiresGrad: true });
  const params = [p([8, 3, 3, 3], 1, 0.3), zeros([8], { backend, requiresGrad: true }), p([12, 4, 3, 3], 2, 0.2), p([5, 12 * 2 * 2], 3, 0.2), p([5], 4, 0.1)];
  const [w1, b1, w2, w3, b3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const x = randn([6, 3, 12, 12], { seed: 5, backend });
  const y = tensor(new Int32Array([0, 3, 1, 4, 2, 3]), [6], { backend });
  const opt = new optim.SGD(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      let h = F.conv2d(x, w1, b1, { padding: 1 }).relu();
      h = F.maxPool2d(h, { kernelSize: 2, stride: 2 });
      h = F.localResponseNorm(h, 3, { alpha: 1e-2, beta: 0.75, k: 2 });
      h = F.conv2d(h, w2, null, { stride: 2, groups: 2 }).relu();
      h = F.adaptiveAvgPool2d(h, [2, 2]).flatten(1);
      h = F.dropout(h, 0.3, true);
      const l = F.crossEntropy(F.linear(h, w3, b3), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    losses.push(await loss.item());
    loss.dispose();
    onStep?.(step);
  }
  const out = await Promise.all(params.map(async (t) => Float32Array.from(await t.data())));
  opt.zeroGrad();
  opt.disposeState();
  [...params, x, y].forEach((t) => t.dispose());
  return { losses, params: out };
}

/** Null when the two runs agree (losses to 1e-4 relative, weights to 1e-4 + 1e-3·|w|), else what differs. */
export function compareRuns(got: TrainRun, want: TrainRun): string | null {
  for (let i = 0; i < want.losses.length; i++) {
    const g = got.losses[i]!;
    const w = want.losses[i]!;
    if (!(Math.abs(g - w) <= 1e-4 * (1 + Math.abs(w)))) return `loss ${i}: ${g} vs ${w}`;
  }
  if (!(Math.abs(want.losses.at(-1)! - want.losses[0]!) > 1e-3)) return `the loss did not move (${want.losses.join(', ')})`;
  for (let i = 0; i < want.params.length; i++) {
    const g = got.params[i]!;
    const w = want.params[i]!;
    for (let j = 0; j < w.length; j++) {
      if (!(Math.abs(g[j]! - w[j]!) <= 1e-4 + 1e-3 * Math.abs(w[j]!))) return `parameter ${i} element ${j}: ${g[j]} vs ${w[j]}`;
    }
  }
  return null;
}
