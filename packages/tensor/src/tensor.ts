import { backward as runBackward, type BackwardOptions, type GradNode } from './autograd.js';
import type { Backend } from './backend/backend.js';
import { backendByName } from './backend/registry.js';
import type { DType, TypedArray } from './dtype.js';
import { Storage, noteBackend, releaseTensor, trackTensor } from './engine.js';
import { TesseraError, fmtShape } from './errors.js';
import * as E from './ops/elementwise.js';
import * as M from './ops/matmul.js';
import * as R from './ops/reduce.js';
import * as S from './ops/shape.js';
import { shapesEqual, sizeOf, type Shape } from './shape.js';

/** A tensor operand: a Tensor or a plain number (broadcast as a scalar of the other operand's dtype). */
export type TensorLike = Tensor | number;

/** Nested arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array on a backend. Its buffer lives on the device; `await data()` copies it back.
 * Operations return new tensors (never views that alias a buffer, except reshape/detach, which share it).
 */
export class Tensor {
  /** @internal Lets engine.ts recognise tensors without importing this class. */
  readonly __tessera_tensor = true;
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** @internal */
  readonly storage: Storage;
  /** Whether gradients flow to (and accumulate in) this tensor. */
  requiresGrad = false;
  /** Accumulated ∂L/∂this after backward(), for leaves. */
  grad: Tensor | null = null;
  /** @internal The op that produced this tensor, while its graph is alive. */
  gradFn: GradNode | null = null;
  /** False for tensors produced by a recorded op. */
  isLeaf = true;
  /** @internal Survived a tidy only because a returned tensor's graph needs it; freed when that graph is released. */
  graphOwned = false;
  /** @internal The tidy scope that owns this tensor. */
  scope: Set<Tensor> | null = null;
  private disposed = false;

  /** @internal Use the creation functions (`tensor`, `zeros`, …) instead. */
  constructor(storage: Storage, shape: readonly number[], dtype: DType) {
    this.storage = storage;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.id = trackTensor(this, storage);
  }

  /** @internal Allocates an uninitialised tensor on `backend`. */
  static empty(backend: Backend, shape: Shape, dtype: DType): Tensor {
    if (!backend.dtypes.includes(dtype)) {
      throw new TesseraError('alloc', `backend "${backend.name}" does not support dtype ${dtype} (it supports ${backend.dtypes.join(', ')})`);
    }
    noteBackend(backend);
    return new Tensor(new Storage(backend, backend.alloc(dtype, sizeOf(shape))), shape, dtype);
  }

  /** The name of the backend holding this tensor. */
  get backend(): string {
    return this.storage.backend.name;
  }

  /** @internal */
  get backendImpl(): Backend {
    return this.storage.backend;
  }

  /** @internal The device buffer, after checking the tensor is alive. */
  buf(op: string) {
    if (this.disposed) {
      throw new TesseraError(op, `tensor #${this.id} ${fmtShape(this.shape)} ${this.dtype} was disposed and cannot be used`);
    }
    return this.storage.buffer;
  }

  get rank(): number {
    return this.shape.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** A copy of the contents as a typed array (Float32Array, Int32Array or Float64Array). */
  async data(): Promise<TypedArray> {
    const buf = this.buf('data');
    return this.storage.backend.read(buf);
  }

  /** The contents as nested arrays (a number for a 0-d tensor). */
  async toArray(): Promise<NestedArray> {
    const flat = await this.data();
    if (this.shape.length === 0) return flat[0]!;
    const build = (dim: number, offset: number): NestedArray[] => {
      const n = this.shape[dim]!;
      const out: NestedArray[] = new Array(n);
      if (dim === this.shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = flat[offset + i]!;
        return out;
      }
      const stride = sizeOf(this.shape.slice(dim + 1));
      for (let i = 0; i < n; i++) out[i] = build(dim + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new TesseraError('item', `only one-element tensors can be converted to a number, got ${fmtShape(this.shape)}`);
    return (await this.data())[0]!;
  }

  /** Frees this tensor (its buffer, once no reshape/detach view shares it). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.gradFn = null;
    releaseTensor(this, this.storage);
  }

  /** Back-propagates from this tensor into the `.grad` of every leaf that requires grad. */
  backward(grad?: Tensor, options?: BackwardOptions): void {
    this.buf('backward');
    runBackward(this, grad, options);
  }

  /** A tensor sharing this one's buffer, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(this.storageForView('detach'), this.shape, this.dtype);
  }

  /** Sets requiresGrad in place (leaves only) and returns this tensor. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf && !flag) throw new TesseraError('requiresGrad_', 'cannot turn off requiresGrad on a non-leaf tensor; use detach()');
    if (flag && this.dtype === 'int32') throw new TesseraError('requiresGrad_', 'only float tensors can require grad, this one is int32');
    this.requiresGrad = flag;
    return this;
  }

  /** @internal The storage, with its refcount about to grow by one new view. */
  storageForView(op: string): Storage {
    this.buf(op);
    return this.storage;
  }

  /**
   * This tensor on another backend (the same tensor when it is already there). Asynchronous because the data
   * passes through the host.
   */
  async to(backendName: string): Promise<Tensor> {
    this.buf('to');
    const target = await backendByName(backendName);
    if (target === this.backendImpl) return this;
    const host = await this.data();
    const out = Tensor.empty(target, this.shape, this.dtype);
    target.write(out.buf('to'), host);
    return out;
  }

  /**
   * Overwrites this tensor's values with `src` (same shape and backend; cast if the dtype differs), in place.
   * Not recorded by autograd: use it for parameter updates and initialisation, under noGrad. Tensors sharing
   * this buffer (reshape/detach views) see the change.
   */
  copy_(src: Tensor): this {
    const op = 'copy_';
    const dst = this.buf(op);
    const from = src.buf(op);
    if (src.backendImpl !== this.backendImpl) {
      throw new TesseraError(op, `source is on ${src.backend}, target on ${this.backend}; move it with await src.to("${this.backend}")`);
    }
    if (!shapesEqual(src.shape, this.shape)) throw new TesseraError(op, `source ${fmtShape(src.shape)} does not match target ${fmtShape(this.shape)}`);
    if (this.gradFn !== null) throw new TesseraError(op, 'cannot overwrite a tensor that is part of an autograd graph');
    if (src === this || this.size === 0) return this;
    this.backendImpl.kernels.copy(from, dst, { shape: [this.size], inStrides: [1], inOffset: 0, outStrides: [1], outOffset: 0 });
    return this;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.backend}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- elementwise ---------------------------------------------------------------------------------
  add(other: TensorLike): Tensor {
    return E.binaryOp('add', this, other);
  }
  sub(other: TensorLike): Tensor {
    return E.binaryOp('sub', this, other);
  }
  mul(other: TensorLike): Tensor {
    return E.binaryOp('mul', this, other);
  }
  div(other: TensorLike): Tensor {
    return E.binaryOp('div', this, other);
  }
  pow(other: TensorLike): Tensor {
    return E.binaryOp('pow', this, other);
  }
  maximum(other: TensorLike): Tensor {
    return E.binaryOp('maximum', this, other);
  }
  minimum(other: TensorLike): Tensor {
    return E.binaryOp('minimum', this, other);
  }
  eq(other: TensorLike): Tensor {
    return E.binaryOp('eq', this, other);
  }
  ne(other: TensorLike): Tensor {
    return E.binaryOp('ne', this, other);
  }
  lt(other: TensorLike): Tensor {
    return E.binaryOp('lt', this, other);
  }
  le(other: TensorLike): Tensor {
    return E.binaryOp('le', this, other);
  }
  gt(other: TensorLike): Tensor {
    return E.binaryOp('gt', this, other);
  }
  ge(other: TensorLike): Tensor {
    return E.binaryOp('ge', this, other);
  }
  neg(): Tensor {
    return E.unaryOp('neg', this);
  }
  abs(): Tensor {
    return E.unaryOp('abs', this);
  }
  sign(): Tensor {
    return E.unaryOp('sign', this);
  }
  exp(): Tensor {
    return E.unaryOp('exp', this);
  }
  log(): Tensor {
    return E.unaryOp('log', this);
  }
  sqrt(): Tensor {
    return E.unaryOp('sqrt', this);
  }
  rsqrt(): Tensor {
    return E.unaryOp('rsqrt', this);
  }
  square(): Tensor {
    return E.unaryOp('square', this);
  }
  reciprocal(): Tensor {
    return E.unaryOp('reciprocal', this);
  }
  relu(): Tensor {
    return E.unaryOp('relu', this);
  }
  tanh(): Tensor {
    return E.unaryOp('tanh', this);
  }
  sigmoid(): Tensor {
    return E.unaryOp('sigmoid', this);
  }
  /** Elementwise clamp to [min, max] (either bound may be omitted). */
  clamp(min?: number, max?: number): Tensor {
    return E.clamp(this, min, max);
  }
  /** A copy in another dtype. */
  cast(dtype: DType): Tensor {
    return E.cast(this, dtype);
  }
  /** A copy with its own buffer. */
  clone(): Tensor {
    return E.clone(this);
  }
  zerosLike(): Tensor {
    return E.fullLike(this, 0);
  }
  onesLike(): Tensor {
    return E.fullLike(this, 1);
  }

  // ---- reductions ----------------------------------------------------------------------------------
  sum(dims?: number | readonly number[], keepDim = false): Tensor {
    return R.sum(this, dims, keepDim);
  }
  mean(dims?: number | readonly number[], keepDim = false): Tensor {
    return R.mean(this, dims, keepDim);
  }
  /** Maximum over dims (all when omitted); the gradient is shared evenly between tied maxima. */
  max(dims?: number | readonly number[], keepDim = false): Tensor {
    return R.max(this, dims, keepDim);
  }
  min(dims?: number | readonly number[], keepDim = false): Tensor {
    return R.min(this, dims, keepDim);
  }
  /** Index of the first maximum along `dim` (over the flattened tensor when omitted), int32. */
  argmax(dim?: number, keepDim = false): Tensor {
    return R.argReduce('argmax', this, dim, keepDim);
  }
  argmin(dim?: number, keepDim = false): Tensor {
    return R.argReduce('argmin', this, dim, keepDim);
  }

  // ---- linear algebra ------------------------------------------------------------------------------
  /** torch.matmul semantics: 1-D vectors, 2-D matrices and broadcast batches. */
  matmul(other: Tensor): Tensor {
    return M.matmul(this, other);
  }

  // ---- shape ---------------------------------------------------------------------------------------
  /** The same data in a new shape (one entry may be -1); shares the buffer. */
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return S.reshape(this, S.shapeArgs(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return S.reshape(this, S.shapeArgs(shape));
  }
  /** Flattens dims startDim…endDim into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return S.flatten(this, startDim, endDim);
  }
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return S.permute(this, S.shapeArgs(dims));
  }
  transpose(dim0 = -2, dim1 = -1): Tensor {
    return S.transpose(this, dim0, dim1);
  }
  /** Transpose of a 2-D tensor. */
  get T(): Tensor {
    return S.transpose(this, 0, 1);
  }
  squeeze(dim?: number): Tensor {
    return S.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return S.unsqueeze(this, dim);
  }
  /** Broadcasts to `shape` (a copy). */
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return S.expand(this, S.shapeArgs(shape));
  }
  /**
   * Slices along each dimension: `slice([[start, end, step?], …])` or `slice(dim, start, end, step?)`.
   * Negative indices count from the end; ends are clamped like Python slicing.
   */
  slice(dimOrRanges: number | readonly (readonly [number, number?, number?] | null)[], start?: number, end?: number, step?: number): Tensor {
    return S.slice(this, dimOrRanges, start, end, step);
  }
  /** Index-selects along `dim` with int32 indices. */
  indexSelect(dim: number, indices: Tensor): Tensor {
    return S.indexSelect(this, dim, indices);
  }
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
