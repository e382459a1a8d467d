// The registry and the builders: names, options and their errors, parameter counts (torchvision's own figures),
// FLOPs (against PyTorch forward hooks when torch is importable), minimum inputs, recipes, initialisation,
// trainingLoss — on cpu, without running the big networks.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TesseraError, nn, randn, tensor, F } from '@tessera/tensor';
import {
  BasicBlock,
  Bottleneck,
  GOOGLENET_AUX_WEIGHT,
  GoogLeNet,
  MODEL_NAMES,
  ResNet,
  createModel,
  googlenet,
  lenet5,
  listModels,
  makeDivisible,
  mobilenet_v2,
  modelInfo,
  resnet18,
  resnet50,
  squeezenet1_1,
  trainingLoss,
  vgg11,
  zfnet,
  type ModelName,
} from '../src/index.js';
import { torchUnavailable } from './python.js';

const script = new URL('../scripts/torchvision_fixtures.py', import.meta.url).pathname;

/** num_params from torchvision 0.14's weight metadata (torchvision/models/*.py), i.e. PyTorch's own counts. */
const TORCHVISION_PARAMS: Partial<Record<ModelName, number>> = {
  alexnet: 61_100_840,
  vgg11: 132_863_336,
  vgg11_bn: 132_868_840,
  vgg16: 138_357_544,
  vgg16_bn: 138_365_992,
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  squeezenet1_1: 1_235_496,
  mobilenet_v2: 3_504_872,
};

/** min_size from the same metadata. */
const TORCHVISION_MIN: Partial<Record<ModelName, number>> = {
  vgg11: 32,
  vgg16: 32,
  resnet18: 1,
  resnet50: 1,
  squeezenet1_1: 17,
  mobilenet_v2: 1,
  googlenet: 15,
  alexnet: 63,
};

function expectTessera(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TesseraError);
  expect((caught as Error).message).toMatch(pattern);
}

describe('registry', () => {
  const summaries = listModels();

  it('lists every model by its torchvision name, in order', () => {
    expect(summaries.map((s) => s.name)).toEqual([...MODEL_NAMES]);
    expect(MODEL_NAMES).toHaveLength(13);
  });

  it("parameter counts are torchvision's (PyTorch's numel sums) and the models' own", () => {
    for (const s of summaries) {
      const want = TORCHVISION_PARAMS[s.name];
      if (want !== undefined) expect(s.params, s.name).toBe(want);
    }
    expect(summaries.find((s) => s.name === 'lenet5')!.params).toBe(61_706); // LeCun et al.'s LeNet-5 with 10 outputs
    // GoogLeNet: torchvision's builder keeps the auxiliary heads without weights; its figure is without them.
    expect(googlenet({ auxLogits: false, init: 'none' }).numParameters()).toBe(6_624_904);
    expect(createModel('resnet18', { init: 'none', numClasses: 10 }).numParameters()).toBe(11_689_512 - 990 * 513);
  });

  it("minimum inputs are torchvision's min_size", () => {
    for (const s of summaries) {
      const want = TORCHVISION_MIN[s.name];
      if (want !== undefined) expect(s.minInput, s.name).toEqual([want, want]);
    }
    expect(summaries.find((s) => s.name === 'lenet5')!.minInput).toEqual([32, 32]);
  });

  it('FLOPs at the default input are 2 × the multiply-adds (torchvision documents 1.81 / 4.09 / 15.47 / 0.30 GMACs)', () => {
    const g = (n: ModelName) => summaries.find((s) => s.name === n)!.flops! / 2e9;
    expect(g('resnet18')).toBeCloseTo(1.81, 2);
    expect(g('resnet50')).toBeCloseTo(4.09, 2);
    expect(g('vgg16')).toBeCloseTo(15.47, 2);
    expect(g('mobilenet_v2')).toBeCloseTo(0.3, 2);
    expect(g('googlenet')).toBeCloseTo(1.5, 2);
    expect(g('alexnet')).toBeCloseTo(0.71, 2);
  });

  it('listModels at another input: channels change the first layer, too-small inputs give null FLOPs', () => {
    const small = listModels({ channels: 1, height: 28, width: 28 });
    const get = (n: ModelName) => small.find((s) => s.name === n)!;
    expect(get('vgg16').flops).toBeNull(); // needs 32×32
    expect(get('lenet5').flops).toBe(summaries.find((s) => s.name === 'lenet5')!.flops);
    expect(get('resnet18').params).toBe(11_689_512 - 2 * 64 * 49);
    expect(get('resnet18').flops).toBeGreaterThan(0);
    expectTessera(() => listModels({ channels: 0, height: 28, width: 28 }), /input.channels must be a positive integer/);
  });

  it('FLOPs match PyTorch forward hooks on every model at 64² and 97² (LeNet-5 32², AlexNet 224²)', async (ctx) => {
    const why = torchUnavailable();
    if (why) return ctx.skip(why);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('/usr/bin/python3', [script, '--macs', '64', '97'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr))));
    });
    const torchMacs = JSON.parse(out) as Record<string, Record<string, number>>;
    for (const name of MODEL_NAMES) {
      for (const [side, macs] of Object.entries(torchMacs[name]!)) {
        const channels = name === 'lenet5' ? 1 : 3;
        const s = listModels({ channels, height: Number(side), width: Number(side) }).find((m) => m.name === name)!;
        expect(s.flops, `${name} at ${side}²`).toBe(2 * macs);
      }
    }
  });

  it('modelInfo carries the reference recipe', () => {
    const r = modelInfo('resnet50').recipe;
    expect(r).toMatchObject({
      optimizer: 'sgd',
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
      epochs: 90,
      batchSize: 256,
      schedule: { kind: 'step', stepSize: 30, gamma: 0.1 },
    });
    expect(modelInfo('mobilenet_v2').recipe).toMatchObject({ lr: 0.045, weightDecay: 4e-5, epochs: 300, schedule: { kind: 'step', stepSize: 1, gamma: 0.98 } });
    expect(modelInfo('vgg16').recipe.lr).toBe(0.01);
    expect(modelInfo('vgg16_bn').recipe.lr).toBe(0.1);
    for (const n of MODEL_NAMES) expect(modelInfo(n).recipe.source.length, n).toBeGreaterThan(20);
    expectTessera(() => modelInfo('resnet101' as ModelName), /unknown model "resnet101"; the zoo has lenet5, zfnet, alexnet/);
  });

  it('createModel refuses unknown names and options, bad values, and inputs that do not fit', () => {
    expectTessera(() => createModel('resnet101' as ModelName), /unknown model "resnet101".*googlenet/);
    expectTessera(() => createModel('resnet18', { numClases: 10 } as never), /unknown option\(s\) "numClases"/);
    expectTessera(() => createModel('vgg11', { numClasses: 0 }), /numClasses must be a positive integer/);
    expectTessera(() => createModel('mobilenet_v2', { dropout: 1 }), /dropout must be a probability/);
    expectTessera(() => resnet18({ groups: 2, init: 'none' }), /BasicBlock only supports groups=1/);
    expect(createModel('alexnet', { inChannels: 1, init: 'none' }).numParameters()).toBe(61_100_840 - 2 * 64 * 121);
    expectTessera(() => googlenet({ transformInput: true, inChannels: 1 }), /transformInput maps 3 RGB channels/);
    const m = vgg11({ init: 'none', numClasses: 10 });
    expectTessera(() => m.forward(randn([1, 3, 16, 16])), /VGG.forward: input \[1, 3, 16, 16\] does not fit: .*too small/);
    expectTessera(() => m.forward(randn([1, 1, 32, 32])), /expects 3 input channels/);
    expectTessera(() => lenet5({ init: 'none' }).forward(randn([1, 1, 28, 28])), /expects 32×32 images/);
  });
});

describe('builders', () => {
  it('inChannels changes only the first convolution; numClasses only the last layer', () => {
    const a = resnet18({ init: 'none' });
    const b = resnet18({ init: 'none', inChannels: 1, numClasses: 7 });
    const sa = a.stateDict();
    const sb = b.stateDict();
    expect([...sb.keys()]).toEqual([...sa.keys()]);
    for (const [k, t] of sb) {
      if (k === 'conv1.weight') expect(t.shape).toEqual([64, 1, 7, 7]);
      else if (k.startsWith('fc.')) expect(t.shape[0]).toBe(7);
      else expect(t.shape, k).toEqual(sa.get(k)!.shape);
    }
  });

  it('state-dict keys follow torchvision (spot checks; the PyTorch test loads every key strictly)', () => {
    expect([...resnet50({ init: 'none' }).stateDict().keys()].slice(0, 8)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
      'layer1.0.conv1.weight',
      'layer1.0.bn1.weight',
    ]);
    expect(resnet50({ init: 'none' }).stateDict().has('layer1.0.downsample.1.running_var')).toBe(true);
    expect([...mobilenet_v2({ init: 'none' }).stateDict().keys()].at(-2)).toBe('classifier.1.weight');
    expect(squeezenet1_1({ init: 'none' }).stateDict().has('features.3.expand3x3.weight')).toBe(true);
    expect(googlenet({ init: 'none' }).stateDict().has('aux2.fc2.bias')).toBe(true);
    expect(googlenet({ init: 'none', auxLogits: false }).stateDict().has('aux1.conv.conv.weight')).toBe(false);
    expect([...zfnet({ init: 'none' }).namedParameters()].map(([k]) => k)).toEqual([
      'features.0.weight',
      'features.0.bias',
      'features.4.weight',
      'features.4.bias',
      'features.8.weight',
      'features.8.bias',
      'features.10.weight',
      'features.10.bias',
      'features.12.weight',
      'features.12.bias',
      'classifier.1.weight',
      'classifier.1.bias',
      'classifier.4.weight',
      'classifier.4.bias',
      'classifier.6.weight',
      'classifier.6.bias',
    ]);
  });

  it("ZFNet keeps the paper's map sizes: 110 → 55 → 26 → 13 → 6 at 224²", () => {
    const m = zfnet({ init: 'none', numClasses: 10 });
    const sizes: number[] = [];
    let s = [3, 224, 224];
    for (const layer of m.features) {
      if (layer instanceof nn.Conv2d || layer instanceof nn.MaxPool2d) {
        s = (layer instanceof nn.Conv2d ? convOut : poolOut)(layer as never, s);
        sizes.push(s[1]!);
      }
    }
    expect(sizes).toEqual([110, 55, 26, 13, 13, 13, 13, 6]);
  });

  it("seeded initialisation is reproducible and follows torchvision's distributions", async () => {
    const a = resnet18({ seed: 5, numClasses: 10 });
    const b = resnet18({ seed: 5, numClasses: 10 });
    const c = resnet18({ seed: 6, numClasses: 10 });
    expect([...(await a.conv1.weight.data())]).toEqual([...(await b.conv1.weight.data())]);
    expect([...(await a.conv1.weight.data())]).not.toEqual([...(await c.conv1.weight.data())]);
    const std = async (t: { data(): Promise<ArrayLike<number>> }) => {
      const v = await t.data();
      let m = 0;
      for (let i = 0; i < v.length; i++) m += v[i]! * v[i]!;
      return Math.sqrt(m / v.length);
    };
    // kaiming normal, fan_out, ReLU: std = √(2 / (out · k · k)).
    const w = (a.layer3[0] as BasicBlock).conv2.weight;
    expect(await std(w)).toBeCloseTo(Math.sqrt(2 / (256 * 9)), 3);
    // Linear layers: N(0, 0.01) (VGG's and MobileNetV2's rule; MobileNetV2's classifier is the small one to draw).
    expect(await std((mobilenet_v2({ seed: 1, numClasses: 1000 }).classifier.get(1) as nn.Linear).weight)).toBeCloseTo(0.01, 4);
    const bn = a.bn1;
    expect([...(await bn.weight!.data())].every((v) => v === 1)).toBe(true);
    const z = resnet50({ seed: 1, zeroInitResidual: true });
    for (const m of z.modules()) if (m instanceof Bottleneck) expect([...(await m.bn3.weight!.data())].every((v) => v === 0)).toBe(true);
    const z18 = resnet18({ seed: 1, zeroInitResidual: true });
    for (const m of z18.modules()) if (m instanceof BasicBlock) expect([...(await m.bn2.weight!.data())].every((v) => v === 0)).toBe(true);
    expect(z).toBeInstanceOf(ResNet);
  });

  it('MobileNetV2 widths follow _make_divisible with widthMult and roundNearest', () => {
    expect(makeDivisible(32 * 0.5, 8)).toBe(16);
    expect(makeDivisible(24 * 0.35, 8)).toBe(8);
    expect(makeDivisible(1280 * 1.4, 8)).toBe(1792);
    expect(makeDivisible(10, 8)).toBe(16); // 8 would be more than 10 % below 10
    expect(mobilenet_v2({ init: 'none', widthMult: 0.5 }).numParameters()).toBe(1_968_680);
    expect(mobilenet_v2({ init: 'none', widthMult: 0.5, roundNearest: 1 }).lastChannel).toBe(1280);
  });
});

describe('trainingLoss', () => {
  it('GoogLeNet in training mode: main + 0.3 · (aux1 + aux2); forward returns the main logits; eval has no aux', async () => {
    const m = googlenet({ seed: 3, numClasses: 5, dropout: 0, dropoutAux: 0 });
    const x = randn([2, 3, 32, 32], { seed: 1 });
    const labels = tensor(new Int32Array([1, 4]), [2]);
    const { loss, logits } = trainingLoss(m, x, labels);
    const ref = m.forwardWithAux(x);
    const ce = async (t: typeof logits) => await F.crossEntropy(t, labels).item();
    const want = (await ce(ref.logits)) + GOOGLENET_AUX_WEIGHT * ((await ce(ref.aux1!)) + (await ce(ref.aux2!)));
    expect(await loss.item()).toBeCloseTo(want, 5);
    expect([...(await logits.data())]).toEqual([...(await ref.logits.data())].map((v) => expect.closeTo(v, 5)));
    expect(m.forward(x).shape).toEqual([2, 5]);
    m.eval();
    const evalOut = m.forwardWithAux(x);
    expect(evalOut.aux1).toBeNull();
    const plain = trainingLoss(m, x, labels);
    expect(await plain.loss.item()).toBeCloseTo(await ce(evalOut.logits), 5);
    expect(m).toBeInstanceOf(GoogLeNet);
  });

  it('every other model: cross-entropy of forward', async () => {
    const m = lenet5({ seed: 2 });
    const x = randn([3, 1, 32, 32], { seed: 2 });
    const labels = tensor(new Int32Array([0, 5, 9]), [3]);
    const { loss, logits } = trainingLoss(m, x, labels);
    expect(await loss.item()).toBeCloseTo(await F.crossEntropy(logits, labels).item(), 6);
  });
});

function convOut(c: nn.Conv2d, s: number[]): number[] {
  const o = (n: number, i: 0 | 1) => Math.floor((n + 2 * c.padding[i] - c.kernelSize[i]) / c.stride[i]) + 1;
  return [c.outChannels, o(s[1]!, 0), o(s[2]!, 1)];
}

function poolOut(p: nn.MaxPool2d, s: number[]): number[] {
  const o = (n: number) => Math.ceil((n - p.kernelSize[0]) / p.stride[0]) + 1;
  return [s[0]!, o(s[1]!), o(s[2]!)];
}
