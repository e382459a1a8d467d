/**
 * A small CNN (conv with padding and groups, ReLU, LRN, max and adaptive pooling, linear, cross-entropy,
 * SGD with momentum) built twice from one seed, trained for a few steps on `backend` and on `cpu`;
 * returns the largest differences in loss and parameters. Shared by test/training.test.ts and the GPU check.
 */
import { manualSeed, nn, optim, F, tensor, tidy } from '@tessera/tensor';
import type { Tensor } from '@tessera/tensor';

export interface StepComparison {
  losses: { cpu: number[]; other: number[] };
  worstLoss: number;
  worstParam: { name: string; diff: number; scale: number };
}

function model(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.LocalResponseNorm(5, { alpha: 1e-4, beta: 0.75, k: 2 }),
    new nn.MaxPool2d(3, { stride: 2 }),
    new nn.Conv2d(8, 16, 3, { padding: 1, groups: 2 }),
    new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(2),
    new nn.Flatten(),
    new nn.Linear(64, 10),
  );
}

export async function compareCnnSteps(backend: string, steps = 3): Promise<StepComparison> {
  const batch = 8;
  const x = Float32Array.from({ length: batch * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.3));
  const y = Int32Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  const runs: { losses: number[]; params: Map<string, Float32Array> }[] = [];
  for (const name of ['cpu', backend]) {
    manualSeed(1234);
    const net = model();
    if (name !== 'cpu') await net.to(name);
    const opt = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const loss = tidy(() => {
        const xs = tensor(x, [batch, 3, 16, 16], { backend: name });
        const ys = tensor(y, [batch], { backend: name, dtype: 'int32' });
        const l = F.crossEntropy(net.forward(xs), ys);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l;
      }) as Tensor;
      losses.push((await loss.data())[0]!);
      loss.dispose();
    }
    const params = new Map<string, Float32Array>();
    for (const [k, v] of net.stateDict()) params.set(k, Float32Array.from(await v.data()));
    runs.push({ losses, params });
  }
  const [cpu, other] = runs as [(typeof runs)[0], (typeof runs)[0]];
  let worstLoss = 0;
  cpu.losses.forEach((l, i) => (worstLoss = Math.max(worstLoss, Math.abs(l - other.losses[i]!))));
  let worstParam = { name: '', diff: 0, scale: 0 };
  for (const [k, a] of cpu.params) {
    const b = other.params.get(k)!;
    let scale = 0;
    for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      if (d > worstParam.diff) worstParam = { name: k, diff: d, scale };
    }
  }
  return { losses: { cpu: cpu.losses, other: other.losses }, worstLoss, worstParam };
}
