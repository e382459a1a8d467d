/** Tensor creation: from data, constants, ranges and random numbers. */
import type { Backend } from '../backend/backend.js';
import type { RandomParams } from '../backend/kernels.js';
import { getBackend, initialisedBackend } from '../backend/registry.js';
import { allocTyped, assertDType, dtypeOfTyped, type DType, type TypedArray } from '../dtype.js';
import { TesseraError, fmtShape } from '../errors.js';
import { nextKey } from '../random/generator.js';
import { randomConstants } from '../random/philox.js';
import { assertShape, sizeOf } from '../shape.js';
import { Tensor, type NestedArray } from '../tensor.js';
import { filled } from './util.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Backend name; the current backend when omitted. It must be initialised (await setBackend or backendByName). */
  backend?: string;
}

function resolveBackend(op: string, name?: string): Backend {
  return name === undefined ? getBackend() : initialisedBackend(name, op);
}

function finishCreate(t: Tensor, opts: CreateOptions, op: string): Tensor {
  if (opts.requiresGrad) {
    if (t.dtype === 'int32') {
      t.dispose();
      throw new TesseraError(op, 'only float tensors can require grad; this one is int32');
    }
    t.requiresGrad = true;
  }
  return t;
}

function inferShape(data: NestedArray, op: string): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0]!;
  }
  const check = (node: NestedArray, dim: number): void => {
    if (dim === shape.length) {
      if (typeof node !== 'number') throw new TesseraError(op, `ragged nested array: expected a number at depth ${dim}`);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[dim]) {
      throw new TesseraError(op, `ragged nested array: expected length ${shape[dim]} at depth ${dim}, inferred shape ${fmtShape(shape)}`);
    }
    for (const child of node) check(child, dim + 1);
  };
  check(data, 0);
  return shape;
}

function flattenNested(data: NestedArray[]): number[] {
  const out: number[] = [];
  const walk = (node: NestedArray): void => {
    if (Array.isArray(node)) for (const child of node) walk(child);
    else out.push(node);
  };
  walk(data);
  return out;
}

/**
 * A tensor from nested arrays, a flat array or a typed array. `shape` reshapes flat data; the dtype comes
 * from `opts.dtype`, else from a typed array, else float32.
 */
export function tensor(data: NestedArray | readonly number[] | TypedArray, shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  const op = 'tensor';
  const dtype = opts.dtype !== undefined ? assertDType(opts.dtype, op) : ArrayBuffer.isView(data) ? dtypeOfTyped(data as TypedArray) : 'float32';
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (ArrayBuffer.isView(data)) {
    flat = data as TypedArray;
    inferred = [(data as TypedArray).length];
  } else if (typeof data === 'number') {
    flat = [data];
    inferred = [];
  } else if (Array.isArray(data)) {
    inferred = inferShape(data as NestedArray, op);
    flat = flattenNested(data as NestedArray[]);
  } else {
    throw new TesseraError(op, `data must be a number, a (nested) array or a typed array, got ${typeof data}`);
  }
  const finalShape = shape !== undefined ? assertShape(shape, op) : inferred;
  if (sizeOf(finalShape) !== flat.length) {
    throw new TesseraError(op, `${flat.length} values do not fill shape ${fmtShape(finalShape)} (${sizeOf(finalShape)} elements)`);
  }
  if (ArrayBuffer.isView(data) && dtypeOfTyped(data as TypedArray) === dtype) {
    // A typed array of the right dtype goes to the backend as is (write copies it): no per-element checks.
    const backend = resolveBackend(op, opts.backend);
    const t = Tensor.empty(backend, finalShape, dtype);
    backend.write(t.buf(op), data as TypedArray);
    return finishCreate(t, opts, op);
  }
  const host = allocTyped(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i]!;
    if (typeof v !== 'number') throw new TesseraError(op, `element ${i} is ${typeof v}, not a number`);
    if (dtype === 'int32' && !Number.isInteger(v)) throw new TesseraError(op, `element ${i} (${v}) is not an integer but dtype is int32`);
    host[i] = v;
  }
  const backend = resolveBackend(op, opts.backend);
  const t = Tensor.empty(backend, finalShape, dtype);
  backend.write(t.buf(op), host);
  return finishCreate(t, opts, op);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const s = assertShape(shape, 'full');
  const dtype = opts.dtype !== undefined ? assertDType(opts.dtype, 'full') : 'float32';
  if (typeof value !== 'number') throw new TesseraError('full', `value must be a number, got ${typeof value}`);
  return finishCreate(filled(resolveBackend('full', opts.backend), s, dtype, value), opts, 'full');
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** Values start, start+step, … below end (like torch.arange); `arange(n)` is 0…n-1. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (step === 0 || !Number.isFinite(step)) throw new TesseraError('arange', `step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? (Number.isInteger(start) && Number.isInteger(step) ? 'int32' : 'float32');
  const host = allocTyped(dtype, n);
  for (let i = 0; i < n; i++) host[i] = start + i * step;
  return tensor(host, [n], { ...opts, dtype });
}

export interface RandomOptions extends CreateOptions {
  /** A fixed seed gives a reproducible draw independent of the global generator. */
  seed?: number;
}

function random(op: string, shape: readonly number[], opts: RandomOptions, params: (key: { seed: number; offset: number }) => RandomParams): Tensor {
  const s = assertShape(shape, op);
  const dtype = opts.dtype ?? 'float32';
  if (dtype === 'int32') throw new TesseraError(op, 'draws float tensors; int32 was asked for');
  const backend = resolveBackend(op, opts.backend);
  // Parameters without a finite float32 meaning are refused here, before anything is allocated or the global
  // generator advances, with this op's name and the shape (every backend would refuse them alike).
  try {
    randomConstants(params({ seed: 0, offset: 0 }), dtype === 'float64' ? 'float64' : 'float32');
  } catch (err) {
    if (!(err instanceof TesseraError)) throw err;
    throw new TesseraError(op, `${err.message.replace(/^random: /, '')} (shape ${fmtShape(s)}, ${dtype})`);
  }
  const t = Tensor.empty(backend, s, dtype);
  const n = sizeOf(s);
  const key = nextKey(n, opts.seed, op);
  if (n > 0) backend.kernels.random(t.buf(op), params(key));
  return finishCreate(t, opts, op);
}

/** Standard normal samples (mean and std adjustable). */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return random('randn', shape, opts, (k) => ({ dist: 'normal', ...k, mean: opts.mean ?? 0, std: opts.std ?? 1 }));
}

/** Uniform samples in [low, high) (default [0, 1)). */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  return random('rand', shape, opts, (k) => ({ dist: 'uniform', ...k, low: opts.low ?? 0, high: opts.high ?? 1 }));
}

/** 1 with probability p, else 0, times `scale`: a dropout keep-mask. */
export function bernoulli(shape: readonly number[], p: number, opts: RandomOptions & { scale?: number } = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new TesseraError('bernoulli', `p must be in [0, 1], got ${p}`);
  return random('bernoulli', shape, opts, (k) => ({ dist: 'bernoulli', ...k, p, scale: opts.scale ?? 1 }));
}
