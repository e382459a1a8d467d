// Proof the pieces fit: a small CNN built from nn layers learns a synthetic separable problem, and a
// training loop inside tidy leaves no tensor behind.
import { describe, expect, it } from 'vitest';
import { F, keep, manualSeed, memory, nn, optim, rand, tensor, tidy, type Tensor } from '../src/index.js';

function smallCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1, seed: 1 }),
    new nn.ReLU(),
    new nn.LocalResponseNorm(3, { alpha: 1e-3, beta: 0.75, k: 2 }),
    new nn.MaxPool2d(3, { stride: 2 }),
    new nn.Conv2d(8, 8, 3, { padding: 1, groups: 2, seed: 2 }),
    new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(2),
    new nn.Flatten(),
    new nn.Dropout(0.1),
    new nn.Linear(32, 2, { seed: 3 }),
  );
}

/** Class 0: bright left half; class 1: bright right half; plus noise. */
function separableBatch(n: number, seed: number): { x: Tensor; y: Tensor } {
  const noise = rand([n, 1, 8, 8], { seed, low: -0.3, high: 0.3 });
  const host = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = (i * 7 + seed) % 2;
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) host[i * 64 + r * 8 + c] = c < 4 === (labels[i] === 0) ? 1 : 0;
  }
  const x = tensor(host, [n, 1, 8, 8]).add(noise);
  noise.dispose();
  return { x: keep(x), y: keep(tensor(labels)) };
}

describe('training a small CNN', () => {
  it('loss on a separable problem falls at least 10×', async () => {
    manualSeed(0);
    const model = smallCnn();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, rule: 'paper' });
    const { x, y } = separableBatch(32, 1);
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
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
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! / 10);
    model.eval();
    const test = separableBatch(64, 2);
    const accuracy = await tidy(() => model.forward(test.x).argmax(1).eq(test.y).cast('float32').mean()).item();
    expect(accuracy).toBe(1);
  });

  it('100 training steps inside tidy leave memory().tensors and bytes constant', async () => {
    const model = smallCnn();
    const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, rule: 'pytorch' });
    const { x, y } = separableBatch(16, 3);
    const step = () =>
      tidy(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
      });
    step(); // the first step creates the grads and momentum buffers that live on
    const before = memory();
    for (let i = 0; i < 100; i++) step();
    const after = memory();
    expect(after.tensors).toBe(before.tensors);
    expect(after.bytes).toBe(before.bytes);
    // The graph of a loss returned from tidy is released, with what it held, by backward.
    const loss = tidy(() => F.crossEntropy(model.forward(x), y));
    loss.backward();
    loss.dispose();
    opt.zeroGrad();
    step();
    expect(memory().tensors).toBe(before.tensors);
  });
});
