import { describe, expect, it } from 'vitest';
import {
  F,
  TesseraError,
  arange,
  availableBackends,
  backendByName,
  full,
  keep,
  manualSeed,
  memory,
  noGrad,
  ones,
  randn,
  registerBackend,
  setBackend,
  tensor,
  tidy,
  zeros,
  type Tensor,
} from '../src/index.js';
import { createCpuBackend } from '../src/cpu/index.js';
import { expectTessera } from './helpers.js';

describe('creation and reading back', () => {
  it('builds tensors from nested arrays, typed arrays and shapes', async () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('float32');
    expect(a.backend).toBe('cpu');
    expect(await a.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = tensor(new Int32Array([1, 2, 3, 4]), [2, 2]);
    expect(b.dtype).toBe('int32');
    expect(Array.from(await b.data())).toEqual([1, 2, 3, 4]);
    expect(await tensor(3.5).item()).toBe(3.5);
    expect(Array.from(await arange(5).data())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(await arange(1, 2, 0.25).data())).toEqual([1, 1.25, 1.5, 1.75]);
    expect(Array.from(await full([2], 7, { dtype: 'float64' }).data())).toEqual([7, 7]);
    expect(Array.from(await zeros([3]).data())).toEqual([0, 0, 0]);
  });

  it('rejects ragged arrays, size mismatches and non-integer int32 data', () => {
    expectTessera(() => tensor([[1, 2], [3]]), 'ragged');
    expectTessera(() => tensor([1, 2, 3], [2, 2]), '3 values', '[2, 2]');
    expectTessera(() => tensor([1.5], [1], { dtype: 'int32' }), 'not an integer');
    expectTessera(() => zeros([2, -1]), 'non-negative');
    expectTessera(() => tensor([1], [1], { dtype: 'float16' as never }), 'unknown dtype');
  });

  it('randn with a seed is reproducible and roughly standard normal', async () => {
    const a = Array.from(await randn([4000], { seed: 42 }).data());
    const b = await randn([4000], { seed: 42 }).data();
    expect(a).toEqual(Array.from(b));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.06);
    expect(Math.abs(variance - 1)).toBeLessThan(0.08);
    manualSeed(7);
    const c = await randn([10]).data();
    const d = await randn([10]).data();
    expect(Array.from(c)).not.toEqual(Array.from(d));
    manualSeed(7);
    expect(Array.from(await randn([10]).data())).toEqual(Array.from(c));
  });
});

describe('elementwise ops and broadcasting', () => {
  it('broadcasts like NumPy and accepts plain numbers', async () => {
    const a = tensor([[1], [2], [3]]);
    const b = tensor([10, 20]);
    expect(await a.add(b).toArray()).toEqual([
      [11, 21],
      [12, 22],
      [13, 23],
    ]);
    expect(await a.mul(2).sub(1).toArray()).toEqual([[1], [3], [5]]);
    expect(await tensor([1, 4, 9]).sqrt().toArray()).toEqual([1, 2, 3]);
    expect(await tensor([1, 5, 3]).gt(2).toArray()).toEqual([0, 1, 1]);
    expect(
      await tensor(new Int32Array([1, 2]))
        .add(0.5)
        .toArray(),
    ).toEqual([1.5, 2.5]);
  });

  it('names both shapes when they cannot broadcast', () => {
    expectTessera(() => ones([2, 3]).add(ones([4, 3])), 'add', '[2, 3]', '[4, 3]');
    expectTessera(() => ones([3]).matmul(ones([4, 2])), 'matmul', 'inner dimensions');
  });

  it('reduces over dims with keepDim', async () => {
    const x = tensor([
      [1, 5, 3],
      [4, 2, 6],
    ]);
    expect(await x.sum().item()).toBe(21);
    expect(await x.sum(0).toArray()).toEqual([5, 7, 9]);
    expect(await x.mean(1, true).toArray()).toEqual([[3], [4]]);
    expect(await x.max(1).toArray()).toEqual([5, 6]);
    expect(await x.argmax(1).toArray()).toEqual([1, 2]);
    expect(await x.argmax().item()).toBe(5);
  });
});

describe('autograd', () => {
  it('computes gradients through a small expression and accumulates them', async () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    expect(await x.grad!.toArray()).toEqual([2, 4, 6]);
    x.mul(3).sum().backward();
    expect(await x.grad!.toArray()).toEqual([5, 7, 9]);
  });

  it('matches the hand-derived gradient of a linear layer with broadcasting', async () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    const w = tensor([[0.5, -1]], undefined, { requiresGrad: true });
    const b = tensor([0.25], undefined, { requiresGrad: true });
    F.linear(x, w, b).sum().backward();
    expect(await w.grad!.toArray()).toEqual([[4, 6]]);
    expect(await b.grad!.toArray()).toEqual([2]);
  });

  it('noGrad records nothing and detach cuts the graph', () => {
    const x = ones([2], { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(x.mul(2).detach().requiresGrad).toBe(false);
    expectTessera(() => y.sum().backward(), 'does not require grad');
  });

  it('refuses a second backward through a released graph unless retainGraph was set', async () => {
    const x = ones([2], { requiresGrad: true });
    expectTessera(
      () =>
        x
          .exp()
          .sum()
          .backward({ retainGraph: true } as never),
      'grad must be a Tensor',
    );
    const z = x.exp().sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect(await x.grad!.toArray()).toEqual(Array(2).fill(Math.fround(2 * Math.fround(Math.E))));
    expectTessera(() => z.backward(), 'second time');
  });

  it('needs an explicit grad for non-scalar outputs', () => {
    const x = ones([2, 2], { requiresGrad: true });
    expectTessera(() => x.mul(2).backward(), 'single-element');
  });
});

describe('bad input is a TesseraError naming the op and the shapes', () => {
  it('conv2d: kernel larger than padded input, negative padding, groups, channels', () => {
    const x = ones([1, 4, 5, 5]);
    expectTessera(() => F.conv2d(x, ones([2, 4, 7, 7])), 'conv2d', 'larger than the padded input', '[1, 4, 5, 5]');
    expectTessera(() => F.conv2d(x, ones([2, 4, 3, 3]), null, { padding: -1 }), 'conv2d', 'padding', 'non-negative');
    expectTessera(() => F.conv2d(x, ones([3, 2, 3, 3]), null, { groups: 2 }), 'conv2d', 'groups=2', 'output channels (3)');
    expectTessera(() => F.conv2d(ones([1, 3, 5, 5]), ones([2, 2, 3, 3]), null, { groups: 2 }), 'conv2d', 'groups=2');
    expectTessera(() => F.conv2d(x, ones([2, 3, 3, 3])), 'conv2d', 'expects 3 input channels', '[1, 4, 5, 5]');
    expectTessera(() => F.conv2d(ones([4, 5, 5]).reshape([1, 1, 4, 25]).reshape([100]), ones([1, 1, 1, 1])), 'conv2d', '[N, C, H, W]');
  });

  it('crossEntropy: wrong label dtype, wrong label shape, out-of-range labels', () => {
    const logits = ones([3, 5]);
    expectTessera(() => F.crossEntropy(logits, tensor([0, 1, 2])), 'crossEntropy', 'int32', 'float32');
    expectTessera(() => F.crossEntropy(logits, tensor(new Int32Array([0, 1]))), 'crossEntropy', '[3]', '[2]');
    expectTessera(() => F.crossEntropy(logits, tensor(new Int32Array([0, 7, 1]))), 'crossEntropy', '7', '[0, 5)');
    expectTessera(() => F.crossEntropy(logits, tensor(new Int32Array([0, -1, 1]))), 'crossEntropy', '-1');
  });

  it('pooling, reshape, permute, slice, cat and pad validate their arguments', () => {
    expectTessera(() => F.maxPool2d(ones([1, 1, 2, 2]), { kernelSize: 3 }), 'maxPool2d', 'gives an empty output 0×0', 'ceilMode would round up');
    expectTessera(() => F.maxPool2d(ones([1, 1, 4, 4]), { kernelSize: 2, padding: 2 }), 'maxPool2d', 'half the kernel');
    expectTessera(() => ones([2, 3]).reshape([4, 2]), 'reshape', '[2, 3]', '[4, 2]');
    expectTessera(() => ones([2, 3]).permute([0, 0]), 'permute', 'repeat');
    expectTessera(() => ones([2, 3]).slice(0, 0, 1, 0), 'slice', 'step');
    expectTessera(() => F.cat([ones([2, 3]), ones([2, 4])], 0), 'cat', '[2, 3]', '[2, 4]');
    expectTessera(() => F.pad(ones([2, 3]), [-1, 0]), 'pad', 'non-negative');
    expectTessera(() => ones([3]).indexSelect(0, tensor(new Int32Array([3]))), 'index 3', '[0, 3)');
    expectTessera(() => F.localResponseNorm(ones([1, 3, 2, 2]), 0), 'localResponseNorm', 'size');
    expectTessera(() => ones([2]).log().cast('int32').exp(), 'exp', 'int32');
  });

  it('reading or using a disposed tensor is an error, reported at once', async () => {
    const t = ones([2, 2]);
    t.dispose();
    await expect(t.data()).rejects.toThrow(TesseraError);
    await expect(t.data()).rejects.toThrow(/data.*disposed/);
    expectTessera(() => t.add(1), 'add', 'disposed');
    t.dispose(); // idempotent
  });

  it('mixing tensors of two backends is an error that says so', async () => {
    registerBackend('cpu-second', () => createCpuBackend({ name: 'cpu-second', threads: 1 }));
    await backendByName('cpu-second');
    const a = ones([2], { backend: 'cpu-second' });
    const b = ones([2]);
    expectTessera(() => a.add(b), 'add', 'different backends', 'cpu-second', 'cpu');
    const moved = await a.to('cpu');
    expect(await moved.add(b).toArray()).toEqual([2, 2]);
  });

  it('an unavailable backend is reported with its reason, and asking for it throws that reason', async () => {
    registerBackend('imaginary', () => {
      throw new TesseraError('imaginary', 'no imaginary device is attached');
    });
    const list = await availableBackends();
    const entry = list.find((b) => b.name === 'imaginary');
    expect(entry).toEqual({ name: 'imaginary', available: false, reason: 'imaginary: no imaginary device is attached' });
    expect(list.find((b) => b.name === 'cpu')?.available).toBe(true);
    await expect(setBackend('imaginary')).rejects.toThrow(/unavailable: imaginary: no imaginary device is attached/);
    await expect(setBackend('nope')).rejects.toThrow(/no backend named "nope"/);
  });
});

describe('memory: tidy, keep, dispose', () => {
  it('tidy frees intermediates and keeps what is returned and what backward still needs', async () => {
    const before = memory().tensors;
    const w = keep(ones([3], { requiresGrad: true }));
    const loss = tidy(() => w.mul(2).exp().sum());
    expect(memory().tensors).toBeGreaterThan(before + 1);
    loss.backward();
    expect(await w.grad!.toArray()).toEqual(Array(3).fill(Math.fround(2 * Math.exp(2))));
    const kept = tidy(() => {
      const a = ones([4]);
      keep(a);
      return [a.add(1), { nested: a.mul(3) }];
    });
    expect(await (kept[0] as Tensor).toArray()).toEqual([2, 2, 2, 2]);
    expect(() => tidy(() => Promise.resolve(1))).toThrow(/Promise/);
  });

  it('reports live tensors and bytes per backend; reshape shares storage', () => {
    const m0 = memory();
    const a = zeros([10, 10]);
    const r = a.reshape([100]);
    const m1 = memory();
    expect(m1.tensors - m0.tensors).toBe(2);
    expect(m1.backends['cpu']!.bytes - m0.backends['cpu']!.bytes).toBe(400);
    a.dispose();
    expect(memory().backends['cpu']!.bytes - m0.backends['cpu']!.bytes).toBe(400);
    r.dispose();
    expect(memory().tensors).toBe(m0.tensors);
    expect(memory().backends['cpu']!.bytes).toBe(m0.backends['cpu']!.bytes);
  });
});
