/**
 * In-place initialisers, after torch.nn.init. Each fills a float tensor's buffer directly (no temporary),
 * without recording autograd, and returns the tensor. Random ones draw from the global generator (see
 * manualSeed / getRngState) unless given a `seed`, which makes the draw reproducible on its own. Fans follow
 * PyTorch: for a weight [out, in, k…], fanIn = in·∏k and fanOut = out·∏k.
 */
import type { RandomParams } from '../backend/kernels.js';
import { TesseraError, fmtShape } from '../errors.js';
import { nextKey } from '../random/generator.js';
import { sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { describe } from './parameter.js';

function target(t: Tensor, op: string): void {
  if (!(t instanceof Tensor)) throw new TesseraError(op, `expects a Tensor, got ${describe(t)}`);
  t.buf(op);
  if (t.gradFn !== null) {
    throw new TesseraError(op, `cannot initialise ${String(t)} in place: it was produced by ${t.gradFn.name} and is part of an autograd graph`);
  }
}

function fillRandom(t: Tensor, op: string, seed: number | undefined, params: (key: { seed: number; offset: number }) => RandomParams): Tensor {
  target(t, op);
  if (t.dtype === 'int32') throw new TesseraError(op, `expects a float tensor, got int32 ${fmtShape(t.shape)}`);
  const key = nextKey(t.size, seed, op);
  if (t.size > 0) t.backendImpl.kernels.random(t.buf(op), params(key));
  return t;
}

function finite(op: string, name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TesseraError(op, `${name} must be a finite number, got ${String(v)}`);
  return v;
}

export interface SeedOption {
  /** A fixed seed: the draw no longer depends on (or advances) the global generator. */
  seed?: number;
}

/** Fills with samples of N(mean, std²). */
export function normal_(t: Tensor, opts: SeedOption & { mean?: number; std?: number } = {}): Tensor {
  const op = 'normal_';
  const mean = finite(op, 'mean', opts.mean ?? 0);
  const std = finite(op, 'std', opts.std ?? 1);
  if (std < 0) throw new TesseraError(op, `std must be non-negative, got ${std}`);
  return fillRandom(t, op, opts.seed, (k) => ({ dist: 'normal', ...k, mean, std }));
}

/** Fills with samples of U[low, high). */
export function uniform_(t: Tensor, opts: SeedOption & { low?: number; high?: number } = {}): Tensor {
  const op = 'uniform_';
  const low = finite(op, 'low', opts.low ?? 0);
  const high = finite(op, 'high', opts.high ?? 1);
  if (low > high) throw new TesseraError(op, `low (${low}) must not exceed high (${high})`);
  return fillRandom(t, op, opts.seed, (k) => ({ dist: 'uniform', ...k, low, high }));
}

/** Fills with `value` (any tensor dtype; int32 needs an integer). */
export function constant_(t: Tensor, value: number): Tensor {
  const op = 'constant_';
  target(t, op);
  if (typeof value !== 'number') throw new TesseraError(op, `value must be a number, got ${describe(value)}`);
  if (t.dtype === 'int32' && !Number.isInteger(value)) throw new TesseraError(op, `value ${value} is not an integer but the tensor is int32`);
  if (t.size > 0) t.backendImpl.kernels.fill(t.buf(op), value);
  return t;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** fanIn and fanOut of a weight shape, as torch.nn.init._calculate_fan_in_and_fan_out. */
export function calculateFanInAndFanOut(t: Tensor | readonly number[]): { fanIn: number; fanOut: number } {
  const shape = t instanceof Tensor ? t.shape : t;
  if (shape.length < 2) {
    throw new TesseraError(
      'calculateFanInAndFanOut',
      `fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions, got ${fmtShape(shape)}`,
    );
  }
  const receptive = sizeOf(shape.slice(2));
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

export type Nonlinearity =
  'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain); `param` is leakyRelu's slope (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'convTranspose1d':
    case 'convTranspose2d':
    case 'convTranspose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope))
        throw new TesseraError('calculateGain', `negative slope ${String(slope)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new TesseraError('calculateGain', `unsupported nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

export interface KaimingOptions extends SeedOption {
  /** Negative slope of the leaky ReLU after this layer (default 0). */
  a?: number;
  /** 'fanIn' (default) preserves the forward pass's variance, 'fanOut' the backward pass's. */
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, op: string, opts: KaimingOptions): number | null {
  target(t, op);
  if (t.size === 0) return null; // PyTorch: initialising a zero-element tensor is a no-op.
  const mode = opts.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new TesseraError(op, `mode must be 'fanIn' or 'fanOut', got ${JSON.stringify(mode)}`);
  const fans = calculateFanInAndFanOut(t);
  const fan = mode === 'fanIn' ? fans.fanIn : fans.fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leakyRelu', opts.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He et al. (2015) uniform: U(−b, b) with b = gain·√(3 / fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = kaimingStd(t, 'kaimingUniform_', opts);
  if (std === null) return t;
  const bound = Math.sqrt(3) * std;
  return uniform_(t, { low: -bound, high: bound, ...seedOf(opts) });
}

/** He et al. (2015) normal: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = kaimingStd(t, 'kaimingNormal_', opts);
  if (std === null) return t;
  return normal_(t, { mean: 0, std, ...seedOf(opts) });
}

export interface XavierOptions extends SeedOption {
  gain?: number;
}

function xavierStd(t: Tensor, op: string, opts: XavierOptions): number | null {
  target(t, op);
  if (t.size === 0) return null;
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return finite(op, 'gain', opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
}

/** Glorot & Bengio (2010) uniform: U(−a, a) with a = gain·√(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const std = xavierStd(t, 'xavierUniform_', opts);
  if (std === null) return t;
  const a = Math.sqrt(3) * std;
  return uniform_(t, { low: -a, high: a, ...seedOf(opts) });
}

/** Glorot & Bengio (2010) normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const std = xavierStd(t, 'xavierNormal_', opts);
  if (std === null) return t;
  return normal_(t, { mean: 0, std, ...seedOf(opts) });
}

function seedOf(opts: SeedOption): SeedOption {
  return opts.seed === undefined ? {} : { seed: opts.seed };
}

const MASK64 = (1n << 64n) - 1n;

/**
 * A seed for sub-stream `stream` of `seed` (SplitMix64 finaliser, 53 bits), so that one user seed can
 * initialise several tensors (a layer's weight and bias) with independent Philox streams.
 */
export function deriveSeed(seed: number, stream: number): number {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new TesseraError('deriveSeed', `seed must be a non-negative safe integer, got ${seed}`);
  let z = (BigInt(seed) + BigInt(stream + 1) * 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  z ^= z >> 31n;
  return Number(z >> 11n);
}
