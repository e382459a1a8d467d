/**
 * What every zoo model shares: the common options, a layer factory that carries the backend, dtype and seed
 * stream to every layer, torchvision's initialisers, and the shape tracer that checks an input size and counts
 * FLOPs without running the network.
 */
import { TesseraError, nn, type Tensor } from '@tessera/tensor';

/** Options every builder takes (torchvision's `num_classes` plus the input channels). */
export interface ModelOptions {
  /** Output classes (default 1000; LeNet-5: 10). */
  numClasses?: number;
  /** Input channels (default 3; LeNet-5: 1). Changes only the first convolution. */
  inChannels?: number;
  /**
   * Seeds the initialisation: each initialised tensor gets its own seed derived from this one, so a model is
   * reproducible on its own. Without it the draws come from the global generator (see manualSeed).
   */
  seed?: number;
  /** 'default': torchvision's initialisation (the default); 'none': zero-filled parameters, for loading weights. */
  init?: 'default' | 'none';
  /** Backend to create the parameters on (default: the current backend). */
  backend?: string;
  /** float32 (default), or float64 on the cpu backend. */
  dtype?: 'float32' | 'float64';
}

/** [channels, height, width] (one image, no batch dimension), or [features] after a flatten. */
export type Shape = number[];

/** A module whose forward the tracer cannot infer from its children: it describes itself. */
export interface Traceable {
  /** The output shape for `input`, adding this module's multiply-adds to `count.macs`; throws on a bad shape. */
  traceShape(input: Shape, count: MacCounter): Shape;
}

export interface MacCounter {
  macs: number;
}

export function positiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TesseraError(op, `${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function probability(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new TesseraError(op, `${name} must be a probability in [0, 1), got ${String(v)}`);
  return v;
}

/** Rejects option names a builder does not know (a typo would otherwise be silently ignored). */
export function checkKeys(op: string, opts: object, allowed: readonly string[]): void {
  if (typeof opts !== 'object' || opts === null) throw new TesseraError(op, `options must be an object, got ${String(opts)}`);
  const unknown = Object.keys(opts).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new TesseraError(op, `unknown option(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected some of ${allowed.join(', ')}`);
  }
}

export const COMMON_KEYS = ['numClasses', 'inChannels', 'seed', 'init', 'backend', 'dtype'] as const;

/**
 * Builds layers with the model's backend and dtype and without PyTorch's default initialisation (each model
 * initialises its weights as torchvision does, through the methods below), and hands out seeds.
 */
export class LayerFactory {
  readonly op: string;
  readonly init: 'default' | 'none';
  readonly #seed: number | undefined;
  #stream = 0;
  readonly #where: nn.LayerOptions;

  constructor(op: string, opts: ModelOptions) {
    this.op = op;
    const init = opts.init ?? 'default';
    if (init !== 'default' && init !== 'none') throw new TesseraError(op, `init must be 'default' or 'none', got ${JSON.stringify(init)}`);
    this.init = init;
    if (opts.seed !== undefined && (!Number.isSafeInteger(opts.seed) || opts.seed < 0)) {
      throw new TesseraError(op, `seed must be a non-negative safe integer, got ${String(opts.seed)}`);
    }
    if (opts.dtype !== undefined && opts.dtype !== 'float32' && opts.dtype !== 'float64') {
      throw new TesseraError(op, `dtype must be 'float32' or 'float64', got ${JSON.stringify(opts.dtype)}`);
    }
    this.#seed = opts.seed;
    this.#where = {
      ...(opts.backend === undefined ? {} : { backend: opts.backend }),
      ...(opts.dtype === undefined ? {} : { dtype: opts.dtype }),
    };
  }

  /** The next seed of this model's stream (nothing when unseeded: the global generator draws). */
  seed(): { seed?: number } {
    return this.#seed === undefined ? {} : { seed: nn.init.deriveSeed(this.#seed, this.#stream++) };
  }

  /** Where layers live, for layers built outside this factory. */
  get where(): nn.LayerOptions {
    return this.#where;
  }

  conv(inChannels: number, outChannels: number, kernelSize: number, opts: Omit<nn.Conv2dLayerOptions, keyof nn.LayerOptions> = {}): nn.Conv2d {
    return new nn.Conv2d(inChannels, outChannels, kernelSize, { ...opts, ...this.#where, init: 'none' });
  }

  linear(inFeatures: number, outFeatures: number, opts: { bias?: boolean } = {}): nn.Linear {
    return new nn.Linear(inFeatures, outFeatures, { ...opts, ...this.#where, init: 'none' });
  }

  batchNorm(numFeatures: number, opts: { eps?: number; momentum?: number } = {}): nn.BatchNorm2d {
    return new nn.BatchNorm2d(numFeatures, { ...opts, ...this.#where });
  }

  // ---- torchvision's initialisers (no-ops with init 'none') ----------------------------------------

  /** kaiming_normal_(w, mode='fan_out', nonlinearity='relu') — also torch's default leaky_relu with a = 0. */
  kaimingNormalFanOut(w: Tensor): void {
    if (this.init === 'none') return;
    nn.init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'relu', ...this.seed() });
  }

  /** kaiming_uniform_(w) with torch's defaults (a = 0, fan_in, leaky_relu gain √2). */
  kaimingUniform(w: Tensor): void {
    if (this.init === 'none') return;
    nn.init.kaimingUniform_(w, { a: 0, mode: 'fanIn', nonlinearity: 'leakyRelu', ...this.seed() });
  }

  normal(w: Tensor, std: number): void {
    if (this.init === 'none') return;
    nn.init.normal_(w, { mean: 0, std, ...this.seed() });
  }

  constant(t: Tensor | null, value: number): void {
    if (this.init === 'none' || t === null) return;
    nn.init.constant_(t, value);
  }

  /** PyTorch's default Conv/Linear initialisation: kaiming_uniform_(a = √5) and bias U(±1/√fanIn). */
  pytorchDefault(layer: nn.Conv2d | nn.Linear): void {
    if (this.init === 'none') return;
    nn.init.kaimingUniform_(layer.weight, { a: Math.sqrt(5), ...this.seed() });
    if (layer.bias) {
      const { fanIn } = nn.init.calculateFanInAndFanOut(layer.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      nn.init.uniform_(layer.bias, { low: -bound, high: bound, ...this.seed() });
    }
  }

  /** BatchNorm: weight 1, bias 0 (torchvision sets this explicitly; it is also BatchNorm's own default). */
  batchNormInit(bn: nn.BatchNorm2d): void {
    this.constant(bn.weight, 1);
    this.constant(bn.bias, 0);
  }
}

// ---- the shape tracer ------------------------------------------------------------------------------

function isTraceable(m: unknown): m is Traceable {
  return typeof (m as Partial<Traceable>).traceShape === 'function';
}

function fail(where: string, message: string): never {
  throw new TesseraError(where, message);
}

function spatial(s: Shape, where: string): [number, number, number] {
  if (s.length !== 3) fail(where, `expects a [channels, height, width] input, got [${s.join(', ')}]`);
  return s as [number, number, number];
}

/** Output size of a pooling window, exactly as F.maxPool2d computes it (PyTorch's rule, ceil mode included). */
function poolOut(size: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = (ceil ? Math.ceil((size + 2 * p - k) / s) : Math.floor((size + 2 * p - k) / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/**
 * Propagates a [c, h, w] shape through `m` (children of a Sequential in order; custom blocks through their
 * traceShape), adding every convolution's and linear layer's multiply-adds to `count`. Throws a TesseraError
 * naming the layer where the input becomes too small or the channels do not match.
 */
export function traceModule(m: nn.Module, input: Shape, count: MacCounter, name = 'input'): Shape {
  if (isTraceable(m)) return m.traceShape(input, count);
  if (m instanceof nn.Sequential) {
    let s = input;
    let i = 0;
    for (const c of m) s = traceModule(c, s, count, `${name}.${i++}`);
    return s;
  }
  if (m instanceof nn.Conv2d) {
    const [c, h, w] = spatial(input, name);
    if (c !== m.inChannels) fail(name, `${m.toString()} expects ${m.inChannels} input channels, got ${c}`);
    const out = (n: number, i: 0 | 1) => Math.floor((n + 2 * m.padding[i] - m.dilation[i] * (m.kernelSize[i] - 1) - 1) / m.stride[i]) + 1;
    const oh = out(h, 0);
    const ow = out(w, 1);
    if (oh < 1 || ow < 1) fail(name, `the input is too small: a ${h}×${w} map leaves nothing for ${m.toString()}`);
    count.macs += m.outChannels * (m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1] * oh * ow;
    return [m.outChannels, oh, ow];
  }
  if (m instanceof nn.Linear) {
    const features = input.reduce((a, b) => a * b, 1);
    if (input.length !== 1 || features !== m.inFeatures) {
      fail(name, `${m.toString()} expects ${m.inFeatures} features, got [${input.join(', ')}] (the input size does not fit this model)`);
    }
    count.macs += m.inFeatures * m.outFeatures;
    return [m.outFeatures];
  }
  if (m instanceof nn.MaxPool2d) {
    const [c, h, w] = spatial(input, name);
    const oh = poolOut(h, m.kernelSize[0], m.stride[0], m.padding[0], m.ceilMode);
    const ow = poolOut(w, m.kernelSize[1], m.stride[1], m.padding[1], m.ceilMode);
    if (oh < 1 || ow < 1) fail(name, `the input is too small: a ${h}×${w} map leaves nothing for ${m.toString()}`);
    return [c, oh, ow];
  }
  if (m instanceof nn.AvgPool2d) {
    const [c, h, w] = spatial(input, name);
    const oh = poolOut(h, m.kernelSize[0], m.stride[0], m.padding[0], false);
    const ow = poolOut(w, m.kernelSize[1], m.stride[1], m.padding[1], false);
    if (oh < 1 || ow < 1) fail(name, `the input is too small: a ${h}×${w} map leaves nothing for ${m.toString()}`);
    return [c, oh, ow];
  }
  if (m instanceof nn.AdaptiveAvgPool2d) {
    const [c] = spatial(input, name);
    return [c, m.outputSize[0], m.outputSize[1]];
  }
  if (m instanceof nn.Flatten) {
    if (m.startDim !== 1 || m.endDim !== -1) fail(name, 'the tracer supports Flatten(1, -1) only');
    return [input.reduce((a, b) => a * b, 1)];
  }
  if (m instanceof nn.BatchNorm2d) {
    const [c] = spatial(input, name);
    if (c !== m.numFeatures) fail(name, `BatchNorm2d(${m.numFeatures}) got ${c} channels`);
    return input;
  }
  const shapePreserving = [nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Tanh, nn.Sigmoid, nn.Dropout, nn.LocalResponseNorm, nn.Identity];
  if (shapePreserving.some((k) => m instanceof k)) return input;
  return fail(name, `the shape tracer does not know ${m.constructor.name}`);
}

/** A zoo model: an nn.Module that can check an input shape and count its FLOPs without running. */
export interface ZooModel extends nn.Module, Traceable {
  readonly numClasses: number;
  readonly inChannels: number;
}

/** Checks x [N, C, H, W] against the model's shape trace; the TesseraError names the model and what is wrong. */
export function checkInput(model: ZooModel, x: Tensor, name: string): void {
  if (x.rank !== 4) throw new TesseraError(`${name}.forward`, `expects an input [N, ${model.inChannels}, H, W], got [${x.shape.join(', ')}]`);
  const [, c, h, w] = x.shape as [number, number, number, number];
  if (c !== model.inChannels) {
    throw new TesseraError(`${name}.forward`, `expects ${model.inChannels} input channels (inChannels), got [${x.shape.join(', ')}]`);
  }
  try {
    model.traceShape([c, h, w], { macs: 0 });
  } catch (err) {
    if (err instanceof TesseraError) throw new TesseraError(`${name}.forward`, `input [${x.shape.join(', ')}] does not fit: ${err.message}`);
    throw err;
  }
}
