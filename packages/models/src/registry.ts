/**
 * The zoo's registry, by torchvision's names: createModel, listModels (parameters and FLOPs at an input size,
 * without running a network), modelInfo (plus the reference training recipe), and trainingLoss.
 *
 * FLOPs convention: 2 × the multiply-adds of the convolutions and linear layers on one image (biases,
 * normalisation, activations, pooling and additions are not counted), the way torchvision's model docs and most
 * papers count them. GoogLeNet's count is its inference path (the auxiliary heads run only in training).
 */
import { AlexNet, alexnet, type AlexNetOptions } from '@tessera/alexnet';
import { F, TesseraError, type Tensor, type nn } from '@tessera/tensor';
import { traceModule, type MacCounter, type ModelOptions, type Shape } from './common.js';
import { GoogLeNet, googlenet, type GoogLeNetOptions } from './googlenet.js';
import { lenet5, type LeNet5Options } from './lenet.js';
import { mobilenet_v2, type MobileNetV2Options } from './mobilenet.js';
import { resnet18, resnet34, resnet50, type ResNetOptions } from './resnet.js';
import { squeezenet1_1, type SqueezeNetOptions } from './squeezenet.js';
import { vgg11, vgg11_bn, vgg16, vgg16_bn, type VGGOptions } from './vgg.js';
import { zfnet, type ZFNetOptions } from './zfnet.js';

/** The torchvision-variant AlexNet of @tessera/alexnet, with the zoo's option names. */
export interface ZooAlexNetOptions extends Pick<ModelOptions, 'numClasses' | 'inChannels' | 'seed' | 'init'> {
  /** Dropout before FC6 and FC7 (default 0.5). */
  dropout?: number;
}

/** torchvision's AlexNet (64-192-384-256-256, adaptive 6×6 pool), built by @tessera/alexnet. */
export function zooAlexnet(opts: ZooAlexNetOptions = {}): AlexNet {
  const op = 'alexnet';
  const allowed = ['numClasses', 'inChannels', 'seed', 'init', 'dropout'];
  const unknown = Object.keys(opts).filter((k) => !allowed.includes(k));
  if (unknown.length > 0)
    throw new TesseraError(op, `unknown option(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected some of ${allowed.join(', ')}`);
  const init = opts.init ?? 'default';
  if (init !== 'default' && init !== 'none') throw new TesseraError(op, `init must be 'default' or 'none', got ${JSON.stringify(init)}`);
  const o: AlexNetOptions = { variant: 'torchvision', init: init === 'none' ? 'none' : 'pytorch' };
  if (opts.numClasses !== undefined) o.numClasses = opts.numClasses;
  if (opts.inChannels !== undefined) o.inChannels = opts.inChannels;
  if (opts.dropout !== undefined) o.dropout = opts.dropout;
  if (opts.seed !== undefined) o.seed = opts.seed;
  return alexnet(o);
}

export interface ModelOptionsMap {
  lenet5: LeNet5Options;
  zfnet: ZFNetOptions;
  alexnet: ZooAlexNetOptions;
  vgg11: VGGOptions;
  vgg11_bn: VGGOptions;
  vgg16: VGGOptions;
  vgg16_bn: VGGOptions;
  resnet18: ResNetOptions;
  resnet34: ResNetOptions;
  resnet50: ResNetOptions;
  squeezenet1_1: SqueezeNetOptions;
  mobilenet_v2: MobileNetV2Options;
  googlenet: GoogLeNetOptions;
}

export type ModelName = keyof ModelOptionsMap;

export const MODEL_NAMES: readonly ModelName[] = [
  'lenet5',
  'zfnet',
  'alexnet',
  'vgg11',
  'vgg11_bn',
  'vgg16',
  'vgg16_bn',
  'resnet18',
  'resnet34',
  'resnet50',
  'squeezenet1_1',
  'mobilenet_v2',
  'googlenet',
];

/** Any builder's options (each builder rejects the ones it does not know). */
export type AnyModelOptions = ModelOptionsMap[ModelName];

/** torchvision's learning-rate schedules used by the recipes. */
export type LrSchedule = { kind: 'step'; stepSize: number; gamma: number } | { kind: 'constant' };

export interface TrainingRecipe {
  optimizer: 'sgd';
  lr: number;
  momentum: number;
  weightDecay: number;
  epochs: number;
  /** Total batch (batchPerDevice × devices). */
  batchSize: number;
  batchPerDevice: number;
  devices: number;
  /** The schedule steps once per epoch. */
  schedule: LrSchedule;
  /** Where the numbers come from. */
  source: string;
}

export interface ModelSummary {
  name: ModelName;
  title: string;
  paper: string;
  /** Parameters at the summarised input channels and the default number of classes. */
  params: number;
  /** 2 × multiply-adds of the conv and linear layers for one image at the summarised input; null when it does not fit. */
  flops: number | null;
  /** [channels, height, width]: the input the model was designed for. */
  defaultInput: [number, number, number];
  /** The smallest square [height, width] the network accepts. */
  minInput: [number, number];
}

export interface ModelInfo extends ModelSummary {
  recipe: TrainingRecipe;
}

const TV_README = "torchvision's references/classification/README.md";
const TV_DEFAULTS = {
  optimizer: 'sgd',
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 1e-4,
  epochs: 90,
  batchSize: 256,
  batchPerDevice: 32,
  devices: 8,
  schedule: { kind: 'step', stepSize: 30, gamma: 0.1 },
} as const;

function tvRecipe(overrides: Partial<TrainingRecipe>, source: string): TrainingRecipe {
  return { ...TV_DEFAULTS, schedule: { ...TV_DEFAULTS.schedule }, ...overrides, source };
}

interface Entry {
  title: string;
  paper: string;
  defaultInput: [number, number, number];
  build: (opts: ModelOptions & Record<string, unknown>) => nn.Module;
  recipe: TrainingRecipe;
}

const noBnVgg = tvRecipe(
  { lr: 0.01 },
  `${TV_README}, "AlexNet and VGG": --lr 1e-2 (no batch norm), otherwise the defaults (8 GPUs × batch 32, 90 epochs, step 30 ×0.1)`,
);
const bnVgg = tvRecipe({}, `${TV_README}: vgg*_bn "are trained with the default parameters" (8 GPUs × batch 32, lr 0.1, 90 epochs, step 30 ×0.1)`);
const resnet = tvRecipe({}, `${TV_README}, "ResNet": the defaults (8 GPUs × batch 32, lr 0.1, momentum 0.9, wd 1e-4, 90 epochs, step 30 ×0.1)`);

const ENTRIES: Record<ModelName, Entry> = {
  lenet5: {
    title: 'LeNet-5',
    paper: 'LeCun, Bottou, Bengio & Haffner 1998, Gradient-based learning applied to document recognition',
    defaultInput: [1, 32, 32],
    build: (o) => lenet5(o),
    recipe: {
      optimizer: 'sgd',
      lr: 0.01,
      momentum: 0.9,
      weightDecay: 0,
      epochs: 20,
      batchSize: 64,
      batchPerDevice: 64,
      devices: 1,
      schedule: { kind: 'constant' },
      source:
        "tessera's (torchvision has no LeNet): SGD with momentum for the paper's 20 passes over the training set (the paper trained with stochastic diagonal Levenberg-Marquardt)",
    },
  },
  zfnet: {
    title: 'ZFNet',
    paper: 'Zeiler & Fergus 2013, Visualizing and Understanding Convolutional Networks',
    defaultInput: [3, 224, 224],
    build: (o) => zfnet(o),
    recipe: tvRecipe(
      { lr: 0.01, epochs: 70, batchSize: 128, batchPerDevice: 128, devices: 1 },
      "Zeiler & Fergus 2013 §3: lr 1e-2, momentum 0.9, batch 128, 70 epochs; weight decay and the step schedule are torchvision's defaults (the paper gives no decay and annealed the rate by hand on plateaus)",
    ),
  },
  alexnet: {
    title: 'AlexNet (torchvision)',
    paper: 'Krizhevsky, Sutskever & Hinton 2012; torchvision follows Krizhevsky 2014, One weird trick for parallelizing CNNs',
    defaultInput: [3, 224, 224],
    build: (o) => zooAlexnet(o),
    recipe: noBnVgg,
  },
  vgg11: {
    title: 'VGG-11',
    paper: 'Simonyan & Zisserman 2014, Very Deep Convolutional Networks for Large-Scale Image Recognition',
    defaultInput: [3, 224, 224],
    build: (o) => vgg11(o),
    recipe: noBnVgg,
  },
  vgg11_bn: {
    title: 'VGG-11 with batch norm',
    paper: 'Simonyan & Zisserman 2014; batch norm: Ioffe & Szegedy 2015',
    defaultInput: [3, 224, 224],
    build: (o) => vgg11_bn(o),
    recipe: bnVgg,
  },
  vgg16: {
    title: 'VGG-16',
    paper: 'Simonyan & Zisserman 2014, Very Deep Convolutional Networks for Large-Scale Image Recognition',
    defaultInput: [3, 224, 224],
    build: (o) => vgg16(o),
    recipe: noBnVgg,
  },
  vgg16_bn: {
    title: 'VGG-16 with batch norm',
    paper: 'Simonyan & Zisserman 2014; batch norm: Ioffe & Szegedy 2015',
    defaultInput: [3, 224, 224],
    build: (o) => vgg16_bn(o),
    recipe: bnVgg,
  },
  resnet18: {
    title: 'ResNet-18',
    paper: 'He, Zhang, Ren & Sun 2015, Deep Residual Learning for Image Recognition',
    defaultInput: [3, 224, 224],
    build: (o) => resnet18(o),
    recipe: resnet,
  },
  resnet34: {
    title: 'ResNet-34',
    paper: 'He, Zhang, Ren & Sun 2015, Deep Residual Learning for Image Recognition',
    defaultInput: [3, 224, 224],
    build: (o) => resnet34(o),
    recipe: resnet,
  },
  resnet50: {
    title: 'ResNet-50 (v1.5)',
    paper: 'He, Zhang, Ren & Sun 2015, Deep Residual Learning for Image Recognition',
    defaultInput: [3, 224, 224],
    build: (o) => resnet50(o),
    recipe: resnet,
  },
  squeezenet1_1: {
    title: 'SqueezeNet 1.1',
    paper: "Iandola et al. 2016, SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size (v1.1 from the authors' repository)",
    defaultInput: [3, 224, 224],
    build: (o) => squeezenet1_1(o),
    recipe: tvRecipe({}, `${TV_README} gives no SqueezeNet recipe: these are its train.py defaults (8 GPUs × batch 32, lr 0.1, 90 epochs, step 30 ×0.1)`),
  },
  mobilenet_v2: {
    title: 'MobileNetV2',
    paper: 'Sandler, Howard, Zhu, Zhmoginov & Chen 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks',
    defaultInput: [3, 224, 224],
    build: (o) => mobilenet_v2(o),
    recipe: tvRecipe(
      { lr: 0.045, weightDecay: 4e-5, epochs: 300, schedule: { kind: 'step', stepSize: 1, gamma: 0.98 } },
      `${TV_README}, "MobileNetV2": --epochs 300 --lr 0.045 --wd 0.00004 --lr-step-size 1 --lr-gamma 0.98 (8 GPUs × batch 32)`,
    ),
  },
  googlenet: {
    title: 'GoogLeNet (Inception v1)',
    paper: 'Szegedy et al. 2014, Going Deeper with Convolutions',
    defaultInput: [3, 224, 224],
    build: (o) => googlenet(o),
    recipe: tvRecipe(
      {},
      `${TV_README}: GoogLeNet's weights were ported from the paper, no recipe is given; these are train.py's defaults (8 GPUs × batch 32, lr 0.1, 90 epochs, step 30 ×0.1)`,
    ),
  },
};

function entry(name: unknown, op: string): Entry {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(ENTRIES, name)) {
    throw new TesseraError(op, `unknown model ${JSON.stringify(name)}; the zoo has ${MODEL_NAMES.join(', ')}`);
  }
  return ENTRIES[name as ModelName];
}

/** Builds a zoo model by torchvision's name: `createModel('resnet18', { numClasses: 10, inChannels: 1 })`. */
export function createModel<N extends ModelName>(name: N, opts?: ModelOptionsMap[N]): nn.Module {
  return entry(name, 'createModel').build((opts ?? {}) as ModelOptions & Record<string, unknown>);
}

/** The shape trace of a model: output shape and multiply-adds for one [c, h, w] image. Throws when it does not fit. */
export function traceModel(model: nn.Module, input: Shape, count: MacCounter = { macs: 0 }): Shape {
  if (model instanceof AlexNet) {
    const [, h, w] = model.inputShape;
    if (model.variant !== 'torchvision' && (input[1] !== h || input[2] !== w))
      throw new TesseraError('AlexNet', `@tessera/alexnet's ${model.variant} variant takes ${h}×${w} input, got ${String(input[1])}×${String(input[2])}`);
    let s = traceModule(model.features, input, count, 'features');
    if (model.avgpool) s = traceModule(model.avgpool, s, count, 'avgpool');
    return traceModule(model.classifier, [s.reduce((a, b) => a * b, 1)], count, 'classifier');
  }
  return traceModule(model, input, count, model.constructor.name);
}

function fits(model: nn.Module, input: Shape): number | null {
  const count = { macs: 0 };
  try {
    traceModel(model, input, count);
  } catch (err) {
    if (err instanceof TesseraError) return null;
    throw err;
  }
  return 2 * count.macs;
}

function summarise(name: ModelName, input: { channels: number; height: number; width: number } | undefined): ModelSummary {
  const e = entry(name, 'listModels');
  const [dc, dh, dw] = e.defaultInput;
  const channels = input?.channels ?? dc;
  const height = input?.height ?? dh;
  const width = input?.width ?? dw;
  const opts: ModelOptions & Record<string, unknown> = { init: 'none' };
  if (channels !== dc) opts.inChannels = channels;
  if (name === 'lenet5' && height === 28 && width === 28) opts.inputSize = 28;
  // init 'none' on the cpu backend: zero-filled parameters the operating system has not even mapped yet.
  const model = name === 'alexnet' ? e.build(opts) : e.build({ ...opts, backend: 'cpu' });
  try {
    const flops = fits(model, [channels, height, width]);
    let min = 1;
    while (min < 1024 && fits(model, [channels, min, min]) === null) min++;
    return { name, title: e.title, paper: e.paper, params: model.numParameters(), flops, defaultInput: [dc, dh, dw], minInput: [min, min] };
  } finally {
    model.dispose();
  }
}

function checkInputSize(input: unknown): { channels: number; height: number; width: number } | undefined {
  if (input === undefined) return undefined;
  const i = input as Record<string, unknown>;
  for (const k of ['channels', 'height', 'width']) {
    const v = i?.[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TesseraError('listModels', `input.${k} must be a positive integer, got ${String(v)}`);
  }
  return input as { channels: number; height: number; width: number };
}

/**
 * Every zoo model with its parameter count and FLOPs (see the convention above) at `input` (default: each
 * model's own defaultInput). A model whose first layer expects other channels is summarised as built with
 * inChannels = input.channels; `flops` is null where the input is smaller than the model's minimum.
 */
export function listModels(input?: { channels: number; height: number; width: number }): ModelSummary[] {
  const size = checkInputSize(input);
  return MODEL_NAMES.map((n) => summarise(n, size));
}

/** One model's summary at its default input plus torchvision's reference training recipe. */
export function modelInfo(name: ModelName): ModelInfo {
  const e = entry(name, 'modelInfo');
  return { ...summarise(name, undefined), recipe: { ...e.recipe, schedule: { ...e.recipe.schedule } } };
}

/** The auxiliary classifiers' weight in GoogLeNet's training loss (Szegedy et al. 2014, §5). */
export const GOOGLENET_AUX_WEIGHT = 0.3;

/**
 * The training loss of any zoo model: mean cross-entropy of the logits; for GoogLeNet in training mode with
 * auxiliary heads, main + 0.3 · (aux1 + aux2). `logits` are the main classifier's either way.
 */
export function trainingLoss(model: nn.Module, images: Tensor, labels: Tensor): { loss: Tensor; logits: Tensor } {
  if (model instanceof GoogLeNet && model.training && model.auxLogits) {
    const { logits, aux1, aux2 } = model.forwardWithAux(images);
    const aux = F.crossEntropy(aux1!, labels).add(F.crossEntropy(aux2!, labels));
    return { loss: F.crossEntropy(logits, labels).add(aux.mul(GOOGLENET_AUX_WEIGHT)), logits };
  }
  const logits = model.forward(images);
  return { loss: F.crossEntropy(logits, labels), logits };
}
