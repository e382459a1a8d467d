/**
 * The catalogue on the GPU: every kernel packs its buffers (device pointers) and plain metadata into one
 * Float64Array and enqueues one native launch (csrc/launch.h lists the ids; each .cu file decodes its own
 * layout in the order written here). Nothing here computes on the CPU.
 */
import { BINARY_OPS, KERNEL_IDS, TesseraError, UNARY_OPS, collapseDims, contiguousStrides, randomConstants, splitU64 } from '@tessera/tensor/backend';
import type { BackendBuffer, Conv2dParams, DType, Kernels, Pool2dParams } from '@tessera/tensor/backend';
import type { NativeAddon } from './native.js';

export interface CudaBuffer extends BackendBuffer {
  /** Device address. */
  ptr: number;
  /** The pool block behind the buffer (returned to the pool by free()). */
  block: DeviceBlock;
  /** Set by free(); a freed buffer must not be used again. */
  freed: boolean;
}

/** Kernel ids: the toolkit's catalogue order, which csrc/launch.h follows (tested). */
export const K = KERNEL_IDS;

const MAX_RANK = 8;

function dt(dtype: DType, op: string): number {
  if (dtype === 'float32') return 0;
  if (dtype === 'int32') return 1;
  throw new TesseraError(op, `the cuda backend holds float32 and int32, not ${dtype}`);
}

function f32(b: CudaBuffer, op: string, what: string): number {
  if (b.dtype !== 'float32') throw new TesseraError(op, `${what} must be float32 on the cuda backend, got ${b.dtype}`);
  return b.ptr;
}

function i32(b: CudaBuffer, op: string, what: string): number {
  if (b.dtype !== 'int32') throw new TesseraError(op, `${what} must be int32, got ${b.dtype}`);
  return b.ptr;
}

function checkRank(op: string, rank: number): void {
  if (rank > MAX_RANK) throw new TesseraError(op, `after collapsing dimensions the view still has rank ${rank}; the cuda kernels handle up to ${MAX_RANK}`);
}

/** A block of device memory from the addon's cudaMalloc, as the BufferPool hands it out. */
export interface DeviceBlock {
  ptr: number;
}

/** Whether a native error is CUDA's out-of-memory (the BufferPool's signal to drop its cache and retry). */
export function isCudaOutOfMemory(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'cudaErrorMemoryAllocation';
}

/**
 * `onOutOfMemory` runs when a kernel's scratch allocation (split-K partials) finds the device full: it
 * releases cached blocks, and the launch (nothing of which was enqueued) is tried once more.
 */
export function createCudaKernels(native: NativeAddon, onOutOfMemory: () => void = () => {}): Kernels<CudaBuffer> {
  // One argument block reused by every launch: the addon reads it synchronously.
  const args = new Float64Array(256);
  const launch = (id: number, op: string, values: readonly number[]): void => {
    if (values.length > args.length) throw new TesseraError(op, `too many kernel arguments (${values.length})`);
    args.set(values);
    try {
      native.launch(id, args);
    } catch (err) {
      if (!isCudaOutOfMemory(err)) throw new TesseraError(op, err instanceof Error ? err.message : String(err), { cause: err });
      onOutOfMemory();
      try {
        native.launch(id, args);
      } catch (again) {
        throw new TesseraError(op, again instanceof Error ? again.message : String(again), { cause: again });
      }
    }
  };

  return {
    fill(out, value) {
      launch(K.fill, 'fill', [out.ptr, dt(out.dtype, 'fill'), out.size, value]);
    },

    unary(op, x, out) {
      const id = UNARY_OPS.indexOf(op);
      if (id < 0) throw new TesseraError('unary', `unknown op ${JSON.stringify(op)}`);
      launch(K.unary, op, [id, dt(out.dtype, op), x.ptr, out.ptr, Math.min(x.size, out.size)]);
    },

    binary(op, a, b, out, p) {
      const id = BINARY_OPS.indexOf(op);
      if (id < 0) throw new TesseraError('binary', `unknown op ${JSON.stringify(op)}`);
      const c = collapseDims(p.outShape, [p.aStrides, p.bStrides, contiguousStrides(p.outShape)]);
      checkRank(op, c.shape.length);
      const [sa, sb] = c.strides as [number[], number[]];
      launch(K.binary, op, [id, dt(out.dtype, op), a.ptr, b.ptr, out.ptr, out.size, c.shape.length, ...c.shape, ...sa, ...sb]);
    },

    copy(x, out, p) {
      const c = collapseDims(p.shape, [p.inStrides, p.outStrides]);
      checkRank('copy', c.shape.length);
      const [si, so] = c.strides as [number[], number[]];
      const n = p.shape.reduce((s, d) => s * d, 1);
      launch(K.copy, 'copy', [
        x.ptr,
        dt(x.dtype, 'copy'),
        out.ptr,
        dt(out.dtype, 'copy'),
        n,
        c.shape.length,
        p.inOffset,
        p.outOffset,
        ...c.shape,
        ...si,
        ...so,
      ]);
    },

    reduce(op, x, out, p) {
      const opId = op === 'sum' ? 0 : op === 'max' ? 1 : op === 'min' ? 2 : -1;
      if (opId < 0) throw new TesseraError('reduce', `unknown op ${JSON.stringify(op)}`);
      const strides = contiguousStrides(p.shape);
      const reduced = new Set(p.axes);
      const keptShape: number[] = [];
      const keptStrides: number[] = [];
      const redShape: number[] = [];
      const redStrides: number[] = [];
      p.shape.forEach((n, d) => {
        if (reduced.has(d)) {
          redShape.push(n);
          redStrides.push(strides[d]!);
        } else {
          keptShape.push(n);
          keptStrides.push(strides[d]!);
        }
      });
      const kept = collapseDims(keptShape, [keptStrides]);
      const red = collapseDims(redShape, [redStrides]);
      checkRank(op, Math.max(kept.shape.length, red.shape.length));
      const outCount = keptShape.reduce((s, d) => s * d, 1);
      const redCount = redShape.reduce((s, d) => s * d, 1);
      launch(K.reduce, op, [
        opId,
        dt(x.dtype, op),
        x.ptr,
        out.ptr,
        outCount,
        redCount,
        kept.shape.length,
        ...kept.shape,
        ...kept.strides[0]!,
        red.shape.length,
        ...red.shape,
        ...red.strides[0]!,
      ]);
    },

    argReduce(op, x, out, p) {
      if (p.size === 0 && p.outer * p.inner > 0) throw new TesseraError(op, 'cannot take an arg-reduction over an empty dimension');
      launch(K.argReduce, op, [op === 'argmax' ? 0 : 1, dt(x.dtype, op), x.ptr, i32(out, op, 'output'), p.outer, p.size, p.inner]);
    },

    matmul(a, b, out, p) {
      launch(K.matmul, 'matmul', [
        f32(a, 'matmul', 'a'),
        f32(b, 'matmul', 'b'),
        f32(out, 'matmul', 'out'),
        p.batch,
        p.m,
        p.n,
        p.k,
        p.transA ? 1 : 0,
        p.transB ? 1 : 0,
        p.aBatchStride,
        p.bBatchStride,
      ]);
    },

    conv2d(x, weight, bias, y, p) {
      launch(K.conv2d, 'conv2d', [
        f32(x, 'conv2d', 'x'),
        f32(weight, 'conv2d', 'weight'),
        bias ? f32(bias, 'conv2d', 'bias') : 0,
        f32(y, 'conv2d', 'y'),
        ...conv(p),
      ]);
    },

    conv2dBackwardInput(dy, weight, dx, p) {
      const op = 'conv2dBackwardInput';
      launch(K.conv2dBackwardInput, op, [f32(dy, op, 'dy'), f32(weight, op, 'weight'), f32(dx, op, 'dx'), ...conv(p)]);
    },

    conv2dBackwardFilter(x, dy, dw, p) {
      const op = 'conv2dBackwardFilter';
      launch(K.conv2dBackwardFilter, op, [f32(x, op, 'x'), f32(dy, op, 'dy'), f32(dw, op, 'dw'), ...conv(p)]);
    },

    maxPool2d(x, y, argmax, p) {
      launch(K.maxPool2d, 'maxPool2d', [f32(x, 'maxPool2d', 'x'), f32(y, 'maxPool2d', 'y'), i32(argmax, 'maxPool2d', 'argmax'), ...pool(p)]);
    },

    maxPool2dBackward(dy, argmax, dx, p) {
      const op = 'maxPool2dBackward';
      launch(K.maxPool2dBackward, op, [f32(dy, op, 'dy'), i32(argmax, op, 'argmax'), f32(dx, op, 'dx'), ...pool(p)]);
    },

    avgPool2d(x, y, p) {
      launch(K.avgPool2d, 'avgPool2d', [f32(x, 'avgPool2d', 'x'), f32(y, 'avgPool2d', 'y'), ...pool(p), p.countIncludePad ? 1 : 0]);
    },

    avgPool2dBackward(dy, dx, p) {
      const op = 'avgPool2dBackward';
      launch(K.avgPool2dBackward, op, [f32(dy, op, 'dy'), f32(dx, op, 'dx'), ...pool(p), p.countIncludePad ? 1 : 0]);
    },

    adaptiveAvgPool2d(x, y, p) {
      const op = 'adaptiveAvgPool2d';
      launch(K.adaptiveAvgPool2d, op, [f32(x, op, 'x'), f32(y, op, 'y'), p.n, p.c, p.h, p.w, p.outH, p.outW]);
    },

    adaptiveAvgPool2dBackward(dy, dx, p) {
      const op = 'adaptiveAvgPool2dBackward';
      launch(K.adaptiveAvgPool2dBackward, op, [f32(dy, op, 'dy'), f32(dx, op, 'dx'), p.n, p.c, p.h, p.w, p.outH, p.outW]);
    },

    lrn(x, y, p) {
      launch(K.lrn, 'lrn', [f32(x, 'lrn', 'x'), f32(y, 'lrn', 'y'), p.n, p.c, p.h, p.w, p.size, p.alpha, p.beta, p.k]);
    },

    lrnBackward(x, y, dy, dx, p) {
      const op = 'lrnBackward';
      launch(K.lrnBackward, op, [f32(x, op, 'x'), f32(y, op, 'y'), f32(dy, op, 'dy'), f32(dx, op, 'dx'), p.n, p.c, p.h, p.w, p.size, p.alpha, p.beta, p.k]);
    },

    softmax(x, out, p) {
      launch(K.softmax, 'softmax', [f32(x, 'softmax', 'x'), f32(out, 'softmax', 'out'), p.rows, p.cols, p.log ? 1 : 0]);
    },

    crossEntropy(logits, labels, losses, p) {
      const op = 'crossEntropy';
      launch(K.crossEntropy, op, [f32(logits, op, 'logits'), i32(labels, op, 'labels'), f32(losses, op, 'losses'), p.rows, p.cols]);
    },

    crossEntropyBackward(logits, labels, dlosses, dlogits, p) {
      const op = 'crossEntropyBackward';
      launch(K.crossEntropyBackward, op, [
        f32(logits, op, 'logits'),
        i32(labels, op, 'labels'),
        f32(dlosses, op, 'dlosses'),
        f32(dlogits, op, 'dlogits'),
        p.rows,
        p.cols,
      ]);
    },

    random(out, p) {
      const [k0, k1] = splitU64(p.seed);
      const [o0, o1] = splitU64(p.offset);
      // The float32 constants of the stream (validated: the same TesseraError as every backend for bounds
      // without a float32 meaning); the kernel does only the per-element float32 math.
      const c = randomConstants(p, 'float32');
      const consts =
        c.dist === 'uniform' ? [0, c.lo, c.range, c.threshold, c.replacement] : c.dist === 'normal' ? [1, c.mean, c.std, 0, 0] : [2, c.p, c.scale, 0, 0];
      launch(K.random, 'random', [f32(out, 'random', 'out'), out.size, consts[0]!, k0, k1, o0, o1, ...consts.slice(1)]);
    },

    gather(x, indices, out, p) {
      launch(K.gather, 'gather', [
        x.ptr,
        dt(x.dtype, 'gather'),
        i32(indices, 'gather', 'indices'),
        out.ptr,
        dt(out.dtype, 'gather'),
        p.outer,
        p.axisSize,
        p.inner,
        p.count,
      ]);
    },

    gatherBackward(dy, indices, dx, p) {
      const op = 'gatherBackward';
      launch(K.gatherBackward, op, [f32(dy, op, 'dy'), i32(indices, op, 'indices'), f32(dx, op, 'dx'), p.outer, p.axisSize, p.inner, p.count]);
    },

    oneHot(indices, out, p) {
      launch(K.oneHot, 'oneHot', [i32(indices, 'oneHot', 'indices'), f32(out, 'oneHot', 'out'), p.n, p.depth]);
    },

    topk(x, values, indices, p) {
      if (p.rows > 65535) throw new TesseraError('topk', `the cuda kernel handles up to 65535 rows, got ${p.rows}`);
      launch(K.topk, 'topk', [x.ptr, dt(x.dtype, 'topk'), values.ptr, i32(indices, 'topk', 'indices'), p.rows, p.cols, p.k, p.largest ? 1 : 0]);
    },

    sgdUpdate(param, grad, velocity, p) {
      const op = 'sgdUpdate';
      if (p.momentum !== 0 && !velocity) throw new TesseraError(op, `momentum ${p.momentum} needs a velocity buffer`);
      if (p.rule !== 'paper' && p.rule !== 'pytorch') throw new TesseraError(op, `unknown rule ${JSON.stringify(p.rule as string)}`);
      launch(K.sgdUpdate, op, [
        f32(param, op, 'param'),
        f32(grad, op, 'grad'),
        velocity ? f32(velocity, op, 'velocity') : 0,
        param.size,
        p.rule === 'pytorch' ? 1 : 0,
        p.lr,
        p.momentum,
        p.weightDecay,
        p.dampening,
        p.nesterov ? 1 : 0,
        p.firstStep ? 1 : 0,
      ]);
    },
  };
}

function conv(p: Conv2dParams): number[] {
  return [p.n, p.cIn, p.h, p.w, p.cOut, p.kh, p.kw, p.outH, p.outW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, p.groups];
}

function pool(p: Pool2dParams): number[] {
  return [p.n, p.c, p.h, p.w, p.kh, p.kw, p.outH, p.outW, p.strideH, p.strideW, p.padH, p.padW];
}
