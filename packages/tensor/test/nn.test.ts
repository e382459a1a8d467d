import { describe, expect, it } from 'vitest';
import { F, Tensor, backendByName, getRngState, keep, manualSeed, memory, noGrad, ones, randn, registerBackend, tensor, tidy, zeros } from '../src/index.js';
import { createCpuBackend } from '../src/cpu/index.js';
import * as nn from '../src/nn/index.js';
import { expectTessera, values } from './helpers.js';

const { init } = nn;

function stats(v: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    sum += v[i]!;
    min = Math.min(min, v[i]!);
    max = Math.max(max, v[i]!);
  }
  const mean = sum / v.length;
  let sq = 0;
  for (let i = 0; i < v.length; i++) sq += (v[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(sq / (v.length - 1)), min, max };
}

/** torchvision.models.alexnet, layer for layer. */
class AlexNet extends nn.Module {
  readonly features: nn.Sequential;
  readonly avgpool = new nn.AdaptiveAvgPool2d(6);
  readonly classifier: nn.Sequential;

  constructor(numClasses = 1000, width = 1) {
    super();
    const c = (n: number) => Math.max(1, Math.round(n * width));
    this.features = new nn.Sequential(
      new nn.Conv2d(3, c(64), 11, { stride: 4, padding: 2 }),
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      new nn.Conv2d(c(64), c(192), 5, { padding: 2 }),
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      new nn.Conv2d(c(192), c(384), 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(c(384), c(256), 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(c(256), c(256), 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
    );
    this.classifier = new nn.Sequential(
      new nn.Dropout(0.5),
      new nn.Linear(c(256) * 6 * 6, c(4096)),
      new nn.ReLU(),
      new nn.Dropout(0.5),
      new nn.Linear(c(4096), c(4096)),
      new nn.ReLU(),
      new nn.Linear(c(4096), numClasses),
    );
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.forward(this.avgpool.forward(this.features.forward(x)).flatten(1));
  }
}

const ALEXNET_KEYS = [
  'features.0.weight',
  'features.0.bias',
  'features.3.weight',
  'features.3.bias',
  'features.6.weight',
  'features.6.bias',
  'features.8.weight',
  'features.8.bias',
  'features.10.weight',
  'features.10.bias',
  'classifier.1.weight',
  'classifier.1.bias',
  'classifier.4.weight',
  'classifier.4.bias',
  'classifier.6.weight',
  'classifier.6.bias',
];

class TwoLayer extends nn.Module {
  readonly conv: nn.Conv2d;
  readonly head: nn.Sequential;
  constructor(seed: number) {
    super();
    this.conv = new nn.Conv2d(2, 3, 3, { padding: 1, seed });
    this.head = new nn.Sequential(new nn.Flatten(), new nn.Linear(3 * 4 * 4, 5, { seed: seed + 100 }));
  }
  override forward(x: Tensor): Tensor {
    return this.head.forward(this.conv.forward(x).relu());
  }
}

describe('Module: names, counts and structure', () => {
  it('AlexNet has torchvision’s parameter names, shapes and 61,100,840 parameters', () => {
    const model = new AlexNet();
    try {
      const named = model.namedParameters();
      expect(named.map(([k]) => k)).toEqual(ALEXNET_KEYS);
      expect([...model.stateDict().keys()]).toEqual(ALEXNET_KEYS);
      expect(model.numParameters()).toBe(61_100_840);
      const shapes = Object.fromEntries(named.map(([k, t]) => [k, t.shape]));
      expect(shapes['features.0.weight']).toEqual([64, 3, 11, 11]);
      expect(shapes['classifier.1.weight']).toEqual([4096, 9216]);
      expect(shapes['classifier.6.bias']).toEqual([1000]);
      for (const [, p] of named) {
        expect(p.requiresGrad).toBe(true);
        expect(p.isLeaf).toBe(true);
        expect(p.dtype).toBe('float32');
        expect(nn.isParameter(p)).toBe(true);
      }
    } finally {
      model.dispose();
    }
  });

  it('the paper’s two-GPU AlexNet (grouped convolutions) has 60,965,224 parameters', () => {
    // Counted from shapes alone so the test stays light: Conv2d with groups stores [out, in/groups, k, k].
    const conv = (i: number, o: number, k: number, groups = 1) => o * (i / groups) * k * k + o;
    const fc = (i: number, o: number) => i * o + o;
    const total =
      conv(3, 96, 11) +
      conv(96, 256, 5, 2) +
      conv(256, 384, 3) +
      conv(384, 384, 3, 2) +
      conv(384, 256, 3, 2) +
      fc(9216, 4096) +
      fc(4096, 4096) +
      fc(4096, 1000);
    expect(total).toBe(60_965_224);
    const grouped = new nn.Conv2d(96, 256, 5, { groups: 2, padding: 2 });
    expect(grouped.weight.shape).toEqual([256, 48, 5, 5]);
    expect(grouped.numParameters()).toBe(conv(96, 256, 5, 2));
    grouped.dispose();
  });

  it('a narrow AlexNet runs forward and backward, and every parameter gets a gradient', async () => {
    manualSeed(11);
    const model = new AlexNet(10, 1 / 16);
    const x = randn([2, 3, 224, 224], { seed: 5 });
    const loss = tidy(() => {
      const l = F.crossEntropy(model.forward(x), tensor([3, 7], undefined, { dtype: 'int32' }));
      l.backward();
      return l;
    });
    expect(loss.shape).toEqual([]);
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.shape).toEqual(p.shape);
    }
    model.zeroGrad();
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    loss.dispose();
    x.dispose();
    model.dispose();
  });

  it('Sequential is indexable, iterable and names its children "0", "1", …', () => {
    const seq = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    expect(seq.length).toBe(3);
    expect(seq[0]).toBeInstanceOf(nn.Linear);
    expect(seq.at(-1)).toBe(seq[2]);
    expect([...seq].map((m) => m.constructor.name)).toEqual(['Linear', 'ReLU', 'Linear']);
    expect(seq.namedChildren().map(([k]) => k)).toEqual(['0', '1', '2']);
    expect(seq.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expectTessera(() => seq.at(3), 'out of range');
    expectTessera(() => new nn.Sequential({} as nn.Module), 'must be a Module');
    seq.append(new nn.Tanh());
    expect(seq.length).toBe(4);
    const y = seq.forward(ones([5, 4]));
    expect(y.shape).toEqual([5, 2]);
    seq.dispose();
  });

  it('Sequential applies its children in order (against the same layers called by hand)', async () => {
    const a = new nn.Linear(3, 4, { seed: 1 });
    const b = new nn.Linear(4, 2, { seed: 2 });
    const seq = new nn.Sequential(a, new nn.Tanh(), b);
    const x = randn([6, 3], { seed: 3 });
    expect(await values(seq.forward(x))).toEqual(await values(b.forward(a.forward(x).tanh())));
    seq.dispose();
  });

  it('explicit registration, buffers (persistent or not) and shared parameters', () => {
    class Custom extends nn.Module {
      readonly scale: Tensor;
      readonly inner: nn.Linear;
      readonly tied: Tensor;
      constructor() {
        super();
        this.scale = this.registerParameter('scale', ones([3]));
        this.registerBuffer('runningMean', zeros([3]));
        this.registerBuffer('scratch', zeros([2]), { persistent: false });
        this.inner = this.registerModule('inner', new nn.Linear(3, 3));
        this.tied = this.inner.weight; // the same tensor under a second name
      }
      override forward(x: Tensor): Tensor {
        return this.inner.forward(x.mul(this.scale));
      }
    }
    const m = new Custom();
    // As PyTorch: the root's own fields come first, and a shared tensor is listed once, under its first name.
    expect(m.namedParameters().map(([k]) => k)).toEqual(['scale', 'tied', 'inner.bias']);
    expect(m.namedBuffers().map(([k]) => k)).toEqual(['runningMean', 'scratch']);
    // state_dict semantics: persistent buffers only, shared tensors under every name.
    expect([...m.stateDict().keys()]).toEqual(['scale', 'tied', 'runningMean', 'inner.weight', 'inner.bias']);
    expect(m.numParameters()).toBe(3 + 9 + 3);
    expect(m.scale.requiresGrad).toBe(true);
    expectTessera(() => m.registerParameter('forward', ones([1])), 'already exists');
    expectTessera(() => m.registerModule('a.b', new nn.ReLU()), 'must not contain "."');
    expectTessera(() => nn.parameter(ones([2]).mul(ones([2], { requiresGrad: true }))), 'leaf');
    m.dispose();
  });

  it('toString prints the module tree like PyTorch', () => {
    const seq = new nn.Sequential(
      new nn.Conv2d(3, 8, 11, { stride: 4, padding: 2, seed: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      new nn.Flatten(),
      new nn.Dropout(0.5),
      new nn.Linear(8, 2, { bias: false, seed: 1 }),
    );
    expect(String(seq)).toBe(
      [
        'Sequential(',
        '  (0): Conv2d(3, 8, kernelSize=(11, 11), stride=(4, 4), padding=(2, 2))',
        '  (1): ReLU()',
        '  (2): MaxPool2d(kernelSize=(3, 3), stride=(2, 2), padding=(0, 0), ceilMode=false)',
        '  (3): Flatten(startDim=1, endDim=-1)',
        '  (4): Dropout(p=0.5)',
        '  (5): Linear(inFeatures=8, outFeatures=2, bias=false)',
        ')',
      ].join('\n'),
    );
    seq.dispose();
  });

  it('parameters survive the tidy they were created in; forward intermediates do not', () => {
    const before = memory().tensors;
    const layer = tidy(() => new nn.Linear(8, 4, { seed: 3 }));
    expect(memory().tensors).toBe(before + 2);
    const x = ones([2, 8]);
    const y = noGrad(() => tidy(() => layer.forward(x).relu().mul(2)));
    expect(memory().tensors).toBe(before + 4);
    // A training step in one tidy: forward, backward; only the loss and the gradients outlive it.
    const loss = tidy(() => {
      const l = layer.forward(x).relu().sum();
      l.backward();
      return l;
    });
    expect(memory().tensors).toBe(before + 4 + 1 + 2);
    layer.zeroGrad();
    loss.dispose();
    expect(memory().tensors).toBe(before + 4);
    y.dispose();
    x.dispose();
    layer.dispose();
    expect(memory().tensors).toBe(before);
  });
});

describe('layers against the functional ops', () => {
  it('Conv2d, pools, LRN, Flatten and activations compute what F computes', async () => {
    const x = randn([2, 4, 9, 9], { seed: 21 });
    const conv = new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: 1, dilation: 1, groups: 2, seed: 4 });
    expect(conv.weight.shape).toEqual([6, 2, 3, 2]);
    expect(await values(conv.forward(x))).toEqual(await values(F.conv2d(x, conv.weight, conv.bias, { stride: [2, 1], padding: 1, groups: 2 })));
    const noBias = new nn.Conv2d(4, 2, 1, { bias: false });
    expect(noBias.bias).toBeNull();
    expect(noBias.namedParameters().map(([k]) => k)).toEqual(['weight']);
    expect(await values(new nn.MaxPool2d(3, { stride: 2 }).forward(x))).toEqual(await values(F.maxPool2d(x, { kernelSize: 3, stride: 2 })));
    expect(await values(new nn.AvgPool2d(2, { padding: 1, countIncludePad: false }).forward(x))).toEqual(
      await values(F.avgPool2d(x, { kernelSize: 2, padding: 1, countIncludePad: false })),
    );
    expect(await values(new nn.AdaptiveAvgPool2d([3, 2]).forward(x))).toEqual(await values(F.adaptiveAvgPool2d(x, [3, 2])));
    const lrn = new nn.LocalResponseNorm(5, { alpha: 5e-4, beta: 0.75, k: 2 });
    expect(await values(lrn.forward(x))).toEqual(await values(F.localResponseNorm(x, 5, { alpha: 5e-4, beta: 0.75, k: 2 })));
    expect(new nn.Flatten().forward(x).shape).toEqual([2, 4 * 81]);
    expect(new nn.Flatten(0, 1).forward(x).shape).toEqual([8, 9, 9]);
    expect(await values(new nn.ReLU().forward(x))).toEqual(await values(x.relu()));
    expect(await values(new nn.Tanh().forward(x))).toEqual(await values(x.tanh()));
    expect(await values(new nn.Sigmoid().forward(x))).toEqual(await values(x.sigmoid()));
    expectTessera(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), 'inChannels (3) must be divisible by groups (2)');
    expectTessera(() => new nn.Conv2d(4, 3, 3, { groups: 2 }), 'outChannels (3) must be divisible by groups (2)');
    expectTessera(() => new nn.Dropout(1.5), 'dropout probability');
    conv.dispose();
    noBias.dispose();
  });

  it('Linear is x·Wᵀ + b', async () => {
    const lin = new nn.Linear(3, 2, { seed: 9 });
    noGrad(() => {
      lin.weight.copy_(
        tensor([
          [1, 2, 3],
          [-1, 0, 0.5],
        ]),
      );
      lin.bias!.copy_(tensor([0.5, -2]));
    });
    expect(await lin.forward(tensor([[1, 1, 2]])).toArray()).toEqual([[1 + 2 + 6 + 0.5, -1 + 1 - 2]]);
    expect(lin.forward(ones([4, 5, 3])).shape).toEqual([4, 5, 2]);
    lin.dispose();
  });
});

describe('train / eval', () => {
  it('Dropout zeroes about p of the elements and scales the rest while training, and is the identity in eval', async () => {
    manualSeed(1234);
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.Dropout(0.3)));
    const drop = (model[1] as nn.Sequential)[0] as nn.Dropout;
    expect(drop.training).toBe(true);
    const x = ones([20000]);
    const y = await values(drop.forward(x));
    const zerosCount = y.filter((v) => v === 0).length;
    expect(zerosCount / y.length).toBeGreaterThan(0.28);
    expect(zerosCount / y.length).toBeLessThan(0.32);
    expect(y.every((v) => v === 0 || v === Math.fround(1 / 0.7))).toBe(true);
    // A new mask each call (the global generator advances).
    expect(await values(drop.forward(x))).not.toEqual(y);
    model.eval();
    expect(model.training).toBe(false);
    expect(drop.training).toBe(false);
    expect(await values(drop.forward(x))).toEqual(Array(20000).fill(1));
    model.train();
    expect(drop.training).toBe(true);
    model.train(false);
    expect(drop.training).toBe(false);
    model.dispose();
  });
});

describe('stateDict / loadStateDict', () => {
  it('round-trips values into another model, in place', async () => {
    const a = new TwoLayer(1);
    const b = new TwoLayer(2);
    const bParams = b.parameters();
    expect(await values(a.conv.weight)).not.toEqual(await values(b.conv.weight));
    const result = b.loadStateDict(a.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, t] of a.stateDict()) expect(await values(b.stateDict().get(k)!), k).toEqual(await values(t));
    // The same tensor objects, so an optimiser built before the load still holds the live parameters.
    expect(b.parameters()).toEqual(bParams);
    expect(b.parameters().every((p, i) => p === bParams[i])).toBe(true);
    const x = randn([2, 2, 4, 4], { seed: 8 });
    expect(await values(b.forward(x))).toEqual(await values(a.forward(x)));
    // Records work too.
    b.loadStateDict(Object.fromEntries(new TwoLayer(3).stateDict()));
    a.dispose();
    b.dispose();
  });

  it('strict loading names every missing and unexpected key, and every shape and dtype mismatch', async () => {
    const model = new TwoLayer(1);
    const before = await values(model.conv.weight);
    const sd = new Map(model.stateDict());
    sd.delete('conv.bias');
    sd.delete('head.1.bias');
    sd.set('extra.weight', ones([1]));
    sd.set('conv.weight', ones([3, 2, 3, 4]));
    sd.set('head.1.weight', ones([5, 48], { dtype: 'float64' }));
    const err = expectTessera(
      () => model.loadStateDict(sd),
      'TwoLayer',
      'missing key(s): "conv.bias", "head.1.bias"',
      'unexpected key(s): "extra.weight"',
      'size mismatch for "conv.weight": the dictionary has [3, 2, 3, 4], the module expects [3, 2, 3, 3]',
      'dtype mismatch for "head.1.weight": the dictionary has float64, the module expects float32',
    );
    expect(err.op).toBe('loadStateDict');
    // Nothing was written.
    expect(await values(model.conv.weight)).toEqual(before);
    // Non-strict: key differences are reported, not thrown; size mismatches still throw.
    expectTessera(() => model.loadStateDict(sd, { strict: false }), 'size mismatch for "conv.weight"');
    expect(() => model.loadStateDict(sd, { strict: true })).toThrow(/missing key/);
    const partial = new Map([
      ['conv.weight', ones([3, 2, 3, 3])],
      ['stray', ones([2])],
    ]);
    const res = model.loadStateDict(partial, { strict: false });
    expect(res.missingKeys).toEqual(['conv.bias', 'head.1.weight', 'head.1.bias']);
    expect(res.unexpectedKeys).toEqual(['stray']);
    expect(await values(model.conv.weight)).toEqual(Array(54).fill(1));
    expectTessera(
      () => model.loadStateDict(new Map([...model.stateDict()].map(([k, v]) => [k, k === 'conv.bias' ? (5 as unknown as Tensor) : v]))),
      '"conv.bias" is number 5',
    );
    model.dispose();
  });
});

describe('to(backend)', () => {
  it('moves parameters (and gradients) to another backend, keeping names, flags and sharing', async () => {
    const other = createCpuBackend();
    Object.defineProperty(other, 'name', { value: 'cpu-nn-test' });
    registerBackend('cpu-nn-test', () => other);
    await backendByName('cpu-nn-test');
    const model = new TwoLayer(5);
    const reference = new Map<string, number[]>();
    for (const [k, t] of model.stateDict()) reference.set(k, await values(t));
    const oldWeight = model.conv.weight;
    oldWeight.grad = keep(ones(oldWeight.shape));
    await model.to('cpu-nn-test');
    expect(oldWeight.isDisposed).toBe(true);
    for (const [k, t] of model.stateDict()) {
      expect(t.backend).toBe('cpu-nn-test');
      expect(t.backendImpl).toBe(other);
      expect(nn.isParameter(t)).toBe(true);
      expect(t.requiresGrad).toBe(true);
      expect(await values(t), k).toEqual(reference.get(k));
    }
    expect(model.conv.weight.grad?.backendImpl).toBe(other);
    expect(await values(model.conv.weight.grad!)).toEqual(Array(54).fill(1));
    const y = model.forward(randn([1, 2, 4, 4], { backend: 'cpu-nn-test', seed: 1 }));
    expect(y.backend).toBe('cpu-nn-test');
    model.dispose();
  });
});

describe('init', () => {
  it('computes fans and gains as PyTorch', () => {
    expect(init.calculateFanInAndFanOut([64, 3, 11, 11])).toEqual({ fanIn: 363, fanOut: 7744 });
    expect(init.calculateFanInAndFanOut([4096, 9216])).toEqual({ fanIn: 9216, fanOut: 4096 });
    expectTessera(() => init.calculateFanInAndFanOut([5]), 'fewer than 2 dimensions');
    expect(init.calculateGain('relu')).toBe(Math.SQRT2);
    expect(init.calculateGain('tanh')).toBe(5 / 3);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(init.calculateGain('leakyRelu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(init.calculateGain('leakyRelu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
  });

  it('normal_, uniform_, constant_ fill in place with the right statistics', async () => {
    const t = keep(zeros([200_000]));
    init.normal_(t, { mean: 2, std: 3, seed: 1 });
    let s = stats(await t.data());
    expect(Math.abs(s.mean - 2)).toBeLessThan(4 * (3 / Math.sqrt(200_000)));
    expect(Math.abs(s.std - 3)).toBeLessThan(0.03);
    init.uniform_(t, { low: -1, high: 3, seed: 2 });
    s = stats(await t.data());
    expect(s.min).toBeGreaterThanOrEqual(-1);
    expect(s.max).toBeLessThan(3);
    expect(s.min).toBeLessThan(-0.999);
    expect(s.max).toBeGreaterThan(2.999);
    expect(Math.abs(s.mean - 1)).toBeLessThan(0.02);
    expect(Math.abs(s.std - 4 / Math.sqrt(12))).toBeLessThan(0.01);
    init.constant_(t, 0.25);
    expect(stats(await t.data())).toMatchObject({ min: 0.25, max: 0.25 });
    init.zeros_(t);
    expect(stats(await t.data())).toMatchObject({ min: 0, max: 0 });
    init.ones_(t);
    expect(stats(await t.data())).toMatchObject({ min: 1, max: 1 });
    // The same seed gives the same draw; the global generator advances by ⌈n/4⌉ Philox blocks per draw.
    const a = await values(init.normal_(zeros([10]), { seed: 77 }));
    expect(await values(init.normal_(zeros([10]), { seed: 77 }))).toEqual(a);
    manualSeed(5);
    const g1 = await values(init.uniform_(zeros([10])));
    expect(getRngState()).toEqual({ seed: 5, offset: 3 });
    manualSeed(5);
    expect(await values(init.uniform_(zeros([10])))).toEqual(g1);
    expectTessera(() => init.normal_(zeros([2], { dtype: 'int32' })), 'float');
    expectTessera(() => init.uniform_(zeros([2]), { low: 1, high: 0 }), 'low (1) must not exceed high (0)');
    expectTessera(() => init.constant_(ones([2], { requiresGrad: true }).mul(2), 1), 'autograd graph');
    t.dispose();
  });

  it('kaiming and xavier initialisers have PyTorch’s bounds and variances', async () => {
    const w = keep(zeros([256, 128, 3, 3]));
    const fanIn = 128 * 9;
    const fanOut = 256 * 9;
    init.kaimingNormal_(w, { mode: 'fanIn', nonlinearity: 'relu', seed: 1 });
    let s = stats(await w.data());
    expect(Math.abs(s.std / (Math.SQRT2 / Math.sqrt(fanIn)) - 1)).toBeLessThan(0.01);
    expect(Math.abs(s.mean)).toBeLessThan(0.001);
    init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu', seed: 2 });
    s = stats(await w.data());
    expect(Math.abs(s.std / (Math.SQRT2 / Math.sqrt(fanOut)) - 1)).toBeLessThan(0.01);
    init.kaimingUniform_(w, { a: 0, seed: 3 }); // leaky ReLU with slope 0: gain √2, bound √(6 / fanIn)
    s = stats(await w.data());
    const bound = Math.sqrt(6 / fanIn);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeGreaterThan(bound * 0.999);
    expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.01);
    const x = keep(zeros([300, 200]));
    init.xavierUniform_(x, { gain: 2, seed: 4 });
    s = stats(await x.data());
    const a = 2 * Math.sqrt(6 / 500);
    expect(s.max).toBeLessThanOrEqual(a);
    expect(s.max).toBeGreaterThan(a * 0.999);
    init.xavierNormal_(x, { seed: 5 });
    s = stats(await x.data());
    expect(Math.abs(s.std / Math.sqrt(2 / 500) - 1)).toBeLessThan(0.02);
    expectTessera(() => init.kaimingUniform_(zeros([3])), 'fewer than 2 dimensions');
    expect(init.kaimingUniform_(zeros([0, 3]))).toBeInstanceOf(Tensor); // no-op, as PyTorch
    w.dispose();
    x.dispose();
  });

  it('Linear and Conv2d default to U(±1/√fanIn), reproducible from a seed or the global generator', async () => {
    const lin = new nn.Linear(400, 300, { seed: 12 });
    const bound = 1 / Math.sqrt(400);
    const ws = stats(await lin.weight.data());
    expect(ws.max).toBeLessThanOrEqual(bound * (1 + 1e-6));
    expect(ws.min).toBeGreaterThanOrEqual(-bound * (1 + 1e-6));
    expect(ws.max).toBeGreaterThan(bound * 0.999);
    expect(Math.abs(ws.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.01);
    const bs = stats(await lin.bias!.data());
    expect(bs.max).toBeLessThanOrEqual(bound);
    expect(bs.min).toBeGreaterThanOrEqual(-bound);
    // Weight and bias come from independent streams even with one seed.
    const w = await values(lin.weight);
    const b = await values(lin.bias!);
    expect(b.slice(0, 8)).not.toEqual(w.slice(0, 8));
    const again = new nn.Linear(400, 300, { seed: 12 });
    expect(await values(again.weight)).toEqual(w);
    expect(await values(again.bias!)).toEqual(b);
    expect(await values(new nn.Linear(400, 300, { seed: 13 }).weight)).not.toEqual(w);
    const conv = new nn.Conv2d(6, 8, 5, { groups: 2, seed: 3 });
    const cb = 1 / Math.sqrt(3 * 25);
    const cs = stats(await conv.weight.data());
    expect(cs.max).toBeLessThanOrEqual(cb * (1 + 1e-6));
    expect(cs.max).toBeGreaterThan(cb * 0.9);
    // From the global generator: weight then bias, ⌈n/4⌉ blocks each.
    manualSeed(99);
    const g = new nn.Linear(10, 5);
    expect(getRngState()).toEqual({ seed: 99, offset: Math.ceil(50 / 4) + Math.ceil(5 / 4) });
    manualSeed(99);
    const g2 = new nn.Linear(10, 5);
    expect(await values(g2.weight)).toEqual(await values(g.weight));
    expect(await values(g2.bias!)).toEqual(await values(g.bias!));
    for (const m of [lin, again, conv, g, g2]) m.dispose();
  });

  it('float64 layers for gradient checks', () => {
    const lin = new nn.Linear(3, 2, { dtype: 'float64', seed: 1 });
    expect(lin.weight.dtype).toBe('float64');
    expect(lin.forward(ones([1, 3], { dtype: 'float64' })).dtype).toBe('float64');
    expectTessera(() => new nn.Linear(3, 2, { dtype: 'int32' }), 'float32 or float64');
    lin.dispose();
  });
});
