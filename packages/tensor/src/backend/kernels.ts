/**
 * The kernel catalogue: every computation a backend must provide, in one typed interface. A backend that
 * misses a kernel fails to compile.
 *
 * Contract shared by every kernel:
 * - The core has already validated the arguments, computed output shapes and allocated the outputs; a kernel
 *   receives device buffers plus plain metadata and only computes. All buffers are dense, row-major (NCHW for
 *   images) and hold `size` elements of their dtype.
 * - Kernels are enqueued, never awaited: a GPU backend records them and returns at once. The only way data
 *   comes back to the host is `Backend.read`.
 * - Outputs never alias inputs, except where a kernel says it updates a buffer in place.
 * - Unless stated otherwise, float inputs and outputs share one dtype (float32, or float64 on the CPU).
 */
import type { DType } from '../dtype.js';

/** A device allocation. Backends extend it with their own handle (typed array, GPUBuffer, device pointer). */
export interface BackendBuffer {
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

export type UnaryOp = 'neg' | 'abs' | 'sign' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'square' | 'reciprocal' | 'relu' | 'tanh' | 'sigmoid';

export const UNARY_OPS: readonly UnaryOp[] = ['neg', 'abs', 'sign', 'exp', 'log', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'relu', 'tanh', 'sigmoid'];

/** Arithmetic ops produce the operands' dtype; comparisons produce 1 or 0 in the operands' dtype. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];

export type ReduceOp = 'sum' | 'max' | 'min';

export interface BinaryParams {
  /** Shape of the output (the broadcast shape). */
  outShape: number[];
  /** Element strides of `a` and `b` over `outShape`; 0 on broadcast dimensions. */
  aStrides: number[];
  bStrides: number[];
}

export interface ReduceParams {
  /** Input shape. */
  shape: number[];
  /** Sorted, distinct axes to reduce; the output is the input shape with these axes removed. */
  axes: number[];
}

/** An arg-reduction over one axis of an input viewed as [outer, size, inner]; output [outer, inner] int32. */
export interface ArgReduceParams {
  outer: number;
  size: number;
  inner: number;
}

/**
 * out[b] (m×n) = op(a[b]) · op(b[b]), op = transpose when the flag is set. a[b] is stored m×k (k×m when
 * transA), b[b] k×n (n×k when transB). Batch strides are in elements and may be 0 (broadcast).
 */
export interface MatmulParams {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
}

/** Geometry of a 2-D convolution: x [n, cIn, h, w], weight [cOut, cIn/groups, kh, kw], y [n, cOut, outH, outW]. */
export interface Conv2dParams {
  n: number;
  cIn: number;
  h: number;
  w: number;
  cOut: number;
  kh: number;
  kw: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

/** Geometry of a 2-D pooling window over x [n, c, h, w] → y [n, c, outH, outW]; padding is implicit. */
export interface Pool2dParams {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

export interface AvgPool2dParams extends Pool2dParams {
  /** When true the divisor is always kh·kw; otherwise only the window cells inside the input count. */
  countIncludePad: boolean;
}

/** Adaptive average pooling: output cell (i, j) averages rows ⌊i·h/outH⌋…⌈(i+1)·h/outH⌉−1 (likewise columns). */
export interface AdaptivePool2dParams {
  n: number;
  c: number;
  h: number;
  w: number;
  outH: number;
  outW: number;
}

/**
 * Local response normalisation across channels (PyTorch / ONNX / Caffe semantics) over x [n, c, h, w]:
 * y = x / (k + alpha/size · Σ x²)^beta, the sum over channels c−⌊size/2⌋ … c+⌊(size−1)/2⌋, zero-padded.
 */
export interface LrnParams {
  n: number;
  c: number;
  h: number;
  w: number;
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

/** Softmax over the last axis of an input viewed as [rows, cols]. */
export interface SoftmaxParams {
  rows: number;
  cols: number;
  log: boolean;
}

/** Cross-entropy over logits [rows, cols] and int32 labels [rows]. */
export interface CrossEntropyParams {
  rows: number;
  cols: number;
}

/**
 * Counter-based random numbers: Philox 4x32-10 keyed by `seed`, counter block `offset + ⌊i/4⌋`, lane `i mod 4`
 * for element i (see random/philox.ts for the exact stream). Every backend produces the same bits.
 */
export type RandomParams =
  | { dist: 'uniform'; seed: number; offset: number; low: number; high: number }
  | { dist: 'normal'; seed: number; offset: number; mean: number; std: number }
  /** 1 with probability p, else 0, multiplied by `scale` (a dropout mask: p = keep, scale = 1/keep). */
  | { dist: 'bernoulli'; seed: number; offset: number; p: number; scale: number };

/**
 * A strided copy: for every index (i0…) of `shape`, out[outOffset + Σ i·outStrides] = x[inOffset + Σ i·inStrides].
 * Elements of `out` outside the written view keep their values. Covers permute, expand (stride 0), slice,
 * concat (writing into a region of `out`) and pad (fill, then copy into the interior). Casts when dtypes differ.
 */
export interface CopyParams {
  shape: number[];
  inStrides: number[];
  inOffset: number;
  outStrides: number[];
  outOffset: number;
}

/** Selects slices along one axis: x [outer, axisSize, inner], indices [count] → out [outer, count, inner]. */
export interface GatherParams {
  outer: number;
  axisSize: number;
  inner: number;
  count: number;
}

/** topk over the last axis of [rows, cols]: values and int32 indices [rows, k], sorted; ties keep index order. */
export interface TopkParams {
  rows: number;
  cols: number;
  k: number;
  largest: boolean;
}

/**
 * SGD with momentum, updating `param` (and `velocity`) in place.
 * - `paper` (Krizhevsky et al. 2012): v ← m·v − wd·lr·w − lr·g; w ← w + v.
 * - `pytorch` (torch.optim.SGD): g' = g + wd·w; v ← m·v + (1 − dampening)·g' (v ← g' on the first step);
 *   d = nesterov ? g' + m·v : v; w ← w − lr·d.
 * `velocity` is null when momentum is 0. `firstStep` tells the pytorch rule to initialise v with g'.
 */
export interface SgdParams {
  rule: 'paper' | 'pytorch';
  lr: number;
  momentum: number;
  weightDecay: number;
  dampening: number;
  nesterov: boolean;
  firstStep: boolean;
}

export interface Kernels<B extends BackendBuffer = BackendBuffer> {
  /** out[i] = value (cast to out's dtype). */
  fill(out: B, value: number): void;
  /** Elementwise unary op; x and out have the same size and dtype. */
  unary(op: UnaryOp, x: B, out: B): void;
  /** Elementwise binary op with broadcasting; a, b and out share a dtype. */
  binary(op: BinaryOp, a: B, b: B, out: B, p: BinaryParams): void;
  /** Strided copy (see CopyParams); casts between dtypes. */
  copy(x: B, out: B, p: CopyParams): void;
  /** Reduction over `axes`. */
  reduce(op: ReduceOp, x: B, out: B, p: ReduceParams): void;
  /** Index (int32) of the first largest / smallest element along the middle axis. */
  argReduce(op: 'argmax' | 'argmin', x: B, out: B, p: ArgReduceParams): void;
  /** Batched matrix multiply (see MatmulParams). */
  matmul(a: B, b: B, out: B, p: MatmulParams): void;
  /** y = conv2d(x, weight) (+ bias[cOut] when given). */
  conv2d(x: B, weight: B, bias: B | null, y: B, p: Conv2dParams): void;
  /** dx = ∂y/∂x applied to dy (a transposed convolution). */
  conv2dBackwardInput(dy: B, weight: B, dx: B, p: Conv2dParams): void;
  /** dw = ∂y/∂weight applied to dy. */
  conv2dBackwardFilter(x: B, dy: B, dw: B, p: Conv2dParams): void;
  /**
   * Max pooling; `argmax` (int32, same size as y) receives the flat index (row·w + col) within the input plane
   * of the first maximum. A window entirely in padding yields −Infinity and index −1.
   */
  maxPool2d(x: B, y: B, argmax: B, p: Pool2dParams): void;
  /** dx (zeroed by the kernel) accumulates dy at the recorded argmax positions. */
  maxPool2dBackward(dy: B, argmax: B, dx: B, p: Pool2dParams): void;
  avgPool2d(x: B, y: B, p: AvgPool2dParams): void;
  avgPool2dBackward(dy: B, dx: B, p: AvgPool2dParams): void;
  adaptiveAvgPool2d(x: B, y: B, p: AdaptivePool2dParams): void;
  adaptiveAvgPool2dBackward(dy: B, dx: B, p: AdaptivePool2dParams): void;
  lrn(x: B, y: B, p: LrnParams): void;
  /** dx given x, the forward output y and dy. */
  lrnBackward(x: B, y: B, dy: B, dx: B, p: LrnParams): void;
  /** Softmax or log-softmax over the last axis. */
  softmax(x: B, out: B, p: SoftmaxParams): void;
  /**
   * Per-row loss: logsumexp(logits[r]) − logits[r, labels[r]]. A label outside [0, cols) is a TesseraError,
   * thrown at once by a synchronous backend or by the next `read` of an asynchronous one.
   */
  crossEntropy(logits: B, labels: B, losses: B, p: CrossEntropyParams): void;
  /** dlogits[r] = (softmax(logits[r]) − onehot(labels[r])) · dlosses[r]. */
  crossEntropyBackward(logits: B, labels: B, dlosses: B, dlogits: B, p: CrossEntropyParams): void;
  /** Fills out (float) with Philox random numbers (see RandomParams). */
  random(out: B, p: RandomParams): void;
  /** Index selection along one axis (indices int32, validated by the kernel like crossEntropy's labels). */
  gather(x: B, indices: B, out: B, p: GatherParams): void;
  /** The adjoint of gather: dx (zeroed by the kernel) accumulates dy rows at their indices. */
  gatherBackward(dy: B, indices: B, dx: B, p: GatherParams): void;
  /** out [n, depth] float: 1 at (i, indices[i]), else 0. */
  oneHot(indices: B, out: B, p: { n: number; depth: number }): void;
  topk(x: B, values: B, indices: B, p: TopkParams): void;
  /** Fused SGD update in place (see SgdParams). */
  sgdUpdate(param: B, grad: B, velocity: B | null, p: SgdParams): void;
}
