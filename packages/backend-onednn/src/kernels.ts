/**
 * The catalogue on oneDNN: each kernel checks what the native side relies on (dtypes, buffer sizes — a
 * wrong size would be an out-of-bounds access there, not an error), packs its plain metadata into one
 * reused Float64Array in the order the matching csrc/*.cc function reads it, and makes one synchronous
 * native launch. Every buffer a kernel writes gets a new version, which lets the addon keep weights in
 * oneDNN's blocked layout until they change.
 */
import { BINARY_OPS, KERNEL_IDS, TesseraError, UNARY_OPS, collapseDims, contiguousStrides, fmtShape, randomConstants } from '@tessera/tensor/backend';
import type { BackendBuffer, Conv2dParams, DType, Kernels, Pool2dParams } from '@tessera/tensor/backend';
import type { NativeAddon } from './native.js';

export interface OnednnBuffer extends BackendBuffer {
  /** Host storage (a view of a pooled ArrayBuffer) the addon reads and writes in place. */
  data: Float32Array | Int32Array;
  /** Changes on every write (from one counter, so a recycled ArrayBuffer never repeats a version). */
  version: number;
}

/** Kernel ids: the toolkit's catalogue order, which csrc/kernels.h follows (tested). */
export const K = KERNEL_IDS;

let versions = 0;

/** Marks a buffer as rewritten. */
export function touch(b: OnednnBuffer): void {
  b.version = ++versions;
}

function f32(b: OnednnBuffer, op: string, role: string): Float32Array {
  if (!(b.data instanceof Float32Array)) throw new TesseraError(op, `the ${role} must be float32 on the onednn backend, got ${b.dtype}`);
  return b.data;
}

function i32(b: OnednnBuffer, op: string, role: string): Int32Array {
  if (!(b.data instanceof Int32Array)) throw new TesseraError(op, `the ${role} must be int32, got ${b.dtype}`);
  return b.data;
}

function need(b: OnednnBuffer, elements: number, op: string, role: string, shape: readonly number[]): void {
  if (b.size < elements) throw new TesseraError(op, `the ${role} holds ${b.size} elements but shape ${fmtShape(shape)} needs ${elements}`);
}

/** One past the furthest element a strided view touches (0 for an empty view). */
function reach(shape: readonly number[], strides: readonly number[], offset: number): number {
  if (shape.some((d) => d === 0)) return 0;
  return shape.reduce((end, d, i) => end + (d - 1) * Math.abs(strides[i]!), offset) + 1;
}

function needView(b: OnednnBuffer, shape: readonly number[], strides: readonly number[], offset: number, op: string, role: string): void {
  const end = reach(shape, strides, offset);
  if (end > b.size || (end > 0 && offset < 0)) {
    throw new TesseraError(
      op,
      `the ${role} view ${fmtShape(shape)} (strides ${fmtShape(strides)}, offset ${offset}) reaches element ${end - 1} of a ${b.size}-element buffer`,
    );
  }
}

function prod(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

function convGeometry(p: Conv2dParams): number[] {
  return [p.n, p.cIn, p.h, p.w, p.cOut, p.kh, p.kw, p.outH, p.outW, p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, p.groups];
}

function poolGeometry(p: Pool2dParams): number[] {
  return [p.n, p.c, p.h, p.w, p.kh, p.kw, p.outH, p.outW, p.strideH, p.strideW, p.padH, p.padW];
}

/** Checks conv2d's three tensors against the geometry: x [n, cIn, h, w], w [cOut, cIn/g, kh, kw], y [n, cOut, outH, outW]. */
function checkConv(op: string, p: Conv2dParams, x: OnednnBuffer, w: OnednnBuffer, y: OnednnBuffer, names: [string, string, string]): void {
  if (!(p.groups >= 1) || p.cIn % p.groups !== 0 || p.cOut % p.groups !== 0) {
    throw new TesseraError(op, `groups ${p.groups} must divide cIn ${p.cIn} and cOut ${p.cOut}`);
  }
  need(x, p.n * p.cIn * p.h * p.w, op, names[0], [p.n, p.cIn, p.h, p.w]);
  need(w, p.cOut * (p.cIn / p.groups) * p.kh * p.kw, op, names[1], [p.cOut, p.cIn / p.groups, p.kh, p.kw]);
  need(y, p.n * p.cOut * p.outH * p.outW, op, names[2], [p.n, p.cOut, p.outH, p.outW]);
}

export function createOnednnKernels(native: NativeAddon): Kernels<OnednnBuffer> {
  // One parameter block reused by every launch: the addon reads it synchronously.
  let args = new Float64Array(256);
  const launch = (
    id: number,
    op: string,
    values: readonly number[],
    b0: OnednnBuffer | null,
    b1: OnednnBuffer | null = null,
    b2: OnednnBuffer | null = null,
    b3: OnednnBuffer | null = null,
    b4: OnednnBuffer | null = null,
  ): void => {
    if (values.length > args.length) args = new Float64Array(2 * values.length);
    args.set(values);
    try {
      native.launch(id, b0?.data ?? null, b1?.data ?? null, b2?.data ?? null, b3?.data ?? null, b4?.data ?? null, args);
    } catch (err) {
      throw new TesseraError(op, err instanceof Error ? err.message : String(err), { cause: err });
    }
  };

  return {
    fill(out, value) {
      launch(K.fill, 'fill', [value], out);
      touch(out);
    },

    unary(op, x, out) {
      const id = UNARY_OPS.indexOf(op);
      if (id < 0) throw new TesseraError('unary', `unknown op ${JSON.stringify(op)}`);
      if (x.dtype !== out.dtype) throw new TesseraError(op, `input ${x.dtype} and output ${out.dtype} differ`);
      launch(K.unary, op, [id], x, out);
      touch(out);
    },

    binary(op, a, b, out, p) {
      const id = BINARY_OPS.indexOf(op);
      if (id < 0) throw new TesseraError('binary', `unknown op ${JSON.stringify(op)}`);
      if (a.dtype !== out.dtype || b.dtype !== out.dtype)
        throw new TesseraError(op, `operands ${a.dtype}, ${b.dtype} and output ${out.dtype} must share a dtype`);
      need(out, prod(p.outShape), op, 'output', p.outShape);
      needView(a, p.outShape, p.aStrides, 0, op, 'left operand');
      needView(b, p.outShape, p.bStrides, 0, op, 'right operand');
      const c = collapseDims(p.outShape, [p.aStrides, p.bStrides, contiguousStrides(p.outShape)]);
      const [sa, sb] = c.strides as [number[], number[]];
      launch(K.binary, op, [id, c.shape.length, ...c.shape, ...sa, ...sb], a, b, out);
      touch(out);
    },

    copy(x, out, p) {
      needView(x, p.shape, p.inStrides, p.inOffset, 'copy', 'source');
      needView(out, p.shape, p.outStrides, p.outOffset, 'copy', 'destination');
      const c = collapseDims(p.shape, [p.inStrides, p.outStrides]);
      const [si, so] = c.strides as [number[], number[]];
      launch(K.copy, 'copy', [p.inOffset, p.outOffset, c.shape.length, ...c.shape, ...si, ...so], x, out);
      touch(out);
    },

    reduce(op, x, out, p) {
      const code = op === 'sum' ? 0 : op === 'max' ? 1 : op === 'min' ? 2 : -1;
      if (code < 0) throw new TesseraError('reduce', `unknown op ${JSON.stringify(op)}`);
      if (x.dtype !== out.dtype) throw new TesseraError('reduce', `input ${x.dtype} and output ${out.dtype} differ`);
      need(x, prod(p.shape), 'reduce', 'input', p.shape);
      const reduced = p.shape.map((_, d) => (p.axes.includes(d) ? 1 : 0));
      need(out, prod(p.shape.filter((_, d) => reduced[d] === 0)), 'reduce', 'output', p.shape);
      launch(K.reduce, op, [code, p.shape.length, ...p.shape, ...reduced], x, out);
      touch(out);
    },

    argReduce(op, x, out, p) {
      i32(out, op, 'output');
      need(x, p.outer * p.size * p.inner, op, 'input', [p.outer, p.size, p.inner]);
      need(out, p.outer * p.inner, op, 'output', [p.outer, p.inner]);
      launch(K.argReduce, op, [op === 'argmax' ? 0 : 1, p.outer, p.size, p.inner], x, out);
      touch(out);
    },

    matmul(a, b, out, p) {
      f32(a, 'matmul', 'left operand');
      f32(b, 'matmul', 'right operand');
      f32(out, 'matmul', 'output');
      const spanA = p.batch > 0 ? (p.batch - 1) * p.aBatchStride + p.m * p.k : 0;
      const spanB = p.batch > 0 ? (p.batch - 1) * p.bBatchStride + p.k * p.n : 0;
      need(a, spanA, 'matmul', 'left operand', [p.batch, p.m, p.k]);
      need(b, spanB, 'matmul', 'right operand', [p.batch, p.k, p.n]);
      need(out, p.batch * p.m * p.n, 'matmul', 'output', [p.batch, p.m, p.n]);
      launch(K.matmul, 'matmul', [p.batch, p.m, p.n, p.k, p.transA ? 1 : 0, p.transB ? 1 : 0, p.aBatchStride, p.bBatchStride], a, b, out);
      touch(out);
    },

    conv2d(x, weight, bias, y, p) {
      for (const [buf, role] of [
        [x, 'input'],
        [weight, 'weight'],
        [y, 'output'],
      ] as const)
        f32(buf, 'conv2d', role);
      checkConv('conv2d', p, x, weight, y, ['input', 'weight', 'output']);
      if (bias) {
        f32(bias, 'conv2d', 'bias');
        need(bias, p.cOut, 'conv2d', 'bias', [p.cOut]);
      }
      launch(K.conv2d, 'conv2d', [...convGeometry(p), weight.version], x, weight, bias, y);
      touch(y);
    },

    conv2dBackwardInput(dy, weight, dx, p) {
      for (const [buf, role] of [
        [dy, 'dy'],
        [weight, 'weight'],
        [dx, 'dx'],
      ] as const)
        f32(buf, 'conv2dBackwardInput', role);
      checkConv('conv2dBackwardInput', p, dx, weight, dy, ['dx', 'weight', 'dy']);
      launch(K.conv2dBackwardInput, 'conv2dBackwardInput', [...convGeometry(p), weight.version], dy, weight, dx);
      touch(dx);
    },

    conv2dBackwardFilter(x, dy, dw, p) {
      for (const [buf, role] of [
        [x, 'input'],
        [dy, 'dy'],
        [dw, 'dw'],
      ] as const)
        f32(buf, 'conv2dBackwardFilter', role);
      checkConv('conv2dBackwardFilter', p, x, dw, dy, ['input', 'dw', 'dy']);
      launch(K.conv2dBackwardFilter, 'conv2dBackwardFilter', convGeometry(p), x, dy, dw);
      touch(dw);
    },

    maxPool2d(x, y, argmax, p) {
      f32(x, 'maxPool2d', 'input');
      f32(y, 'maxPool2d', 'output');
      i32(argmax, 'maxPool2d', 'argmax');
      need(x, p.n * p.c * p.h * p.w, 'maxPool2d', 'input', [p.n, p.c, p.h, p.w]);
      need(y, p.n * p.c * p.outH * p.outW, 'maxPool2d', 'output', [p.n, p.c, p.outH, p.outW]);
      need(argmax, p.n * p.c * p.outH * p.outW, 'maxPool2d', 'argmax', [p.n, p.c, p.outH, p.outW]);
      launch(K.maxPool2d, 'maxPool2d', poolGeometry(p), x, y, argmax);
      touch(y);
      touch(argmax);
    },

    maxPool2dBackward(dy, argmax, dx, p) {
      f32(dy, 'maxPool2dBackward', 'dy');
      i32(argmax, 'maxPool2dBackward', 'argmax');
      f32(dx, 'maxPool2dBackward', 'dx');
      need(dy, p.n * p.c * p.outH * p.outW, 'maxPool2dBackward', 'dy', [p.n, p.c, p.outH, p.outW]);
      need(argmax, p.n * p.c * p.outH * p.outW, 'maxPool2dBackward', 'argmax', [p.n, p.c, p.outH, p.outW]);
      need(dx, p.n * p.c * p.h * p.w, 'maxPool2dBackward', 'dx', [p.n, p.c, p.h, p.w]);
      launch(K.maxPool2dBackward, 'maxPool2dBackward', poolGeometry(p), dy, argmax, dx);
      touch(dx);
    },

    avgPool2d(x, y, p) {
      f32(x, 'avgPool2d', 'input');
      f32(y, 'avgPool2d', 'output');
      need(x, p.n * p.c * p.h * p.w, 'avgPool2d', 'input', [p.n, p.c, p.h, p.w]);
      need(y, p.n * p.c * p.outH * p.outW, 'avgPool2d', 'output', [p.n, p.c, p.outH, p.outW]);
      launch(K.avgPool2d, 'avgPool2d', [...poolGeometry(p), p.countIncludePad ? 1 : 0], x, y);
      touch(y);
    },

    avgPool2dBackward(dy, dx, p) {
      f32(dy, 'avgPool2dBackward', 'dy');
      f32(dx, 'avgPool2dBackward', 'dx');
      need(dy, p.n * p.c * p.outH * p.outW, 'avgPool2dBackward', 'dy', [p.n, p.c, p.outH, p.outW]);
      need(dx, p.n * p.c * p.h * p.w, 'avgPool2dBackward', 'dx', [p.n, p.c, p.h, p.w]);
      launch(K.avgPool2dBackward, 'avgPool2dBackward', [...poolGeometry(p), p.countIncludePad ? 1 : 0], dy, dx);
      touch(dx);
    },

    adaptiveAvgPool2d(x, y, p) {
      f32(x, 'adaptiveAvgPool2d', 'input');
      f32(y, 'adaptiveAvgPool2d', 'output');
      need(x, p.n * p.c * p.h * p.w, 'adaptiveAvgPool2d', 'input', [p.n, p.c, p.h, p.w]);
      need(y, p.n * p.c * p.outH * p.outW, 'adaptiveAvgPool2d', 'output', [p.n, p.c, p.outH, p.outW]);
      launch(K.adaptiveAvgPool2d, 'adaptiveAvgPool2d', [p.n, p.c, p.h, p.w, p.outH, p.outW], x, y);
      touch(y);
    },

    adaptiveAvgPool2dBackward(dy, dx, p) {
      f32(dy, 'adaptiveAvgPool2dBackward', 'dy');
      f32(dx, 'adaptiveAvgPool2dBackward', 'dx');
      need(dy, p.n * p.c * p.outH * p.outW, 'adaptiveAvgPool2dBackward', 'dy', [p.n, p.c, p.outH, p.outW]);
      need(dx, p.n * p.c * p.h * p.w, 'adaptiveAvgPool2dBackward', 'dx', [p.n, p.c, p.h, p.w]);
      launch(K.adaptiveAvgPool2dBackward, 'adaptiveAvgPool2dBackward', [p.n, p.c, p.h, p.w, p.outH, p.outW], dy, dx);
      touch(dx);
    },

    lrn(x, y, p) {
      f32(x, 'lrn', 'input');
      f32(y, 'lrn', 'output');
      const shape = [p.n, p.c, p.h, p.w];
      need(x, prod(shape), 'lrn', 'input', shape);
      need(y, prod(shape), 'lrn', 'output', shape);
      launch(K.lrn, 'lrn', [p.n, p.c, p.h, p.w, p.size, p.alpha, p.beta, p.k], x, y);
      touch(y);
    },

    lrnBackward(x, y, dy, dx, p) {
      const shape = [p.n, p.c, p.h, p.w];
      for (const [buf, role] of [
        [x, 'input'],
        [y, 'y'],
        [dy, 'dy'],
        [dx, 'dx'],
      ] as const) {
        f32(buf, 'lrnBackward', role);
        need(buf, prod(shape), 'lrnBackward', role, shape);
      }
      launch(K.lrnBackward, 'lrnBackward', [p.n, p.c, p.h, p.w, p.size, p.alpha, p.beta, p.k], x, y, dy, dx);
      touch(dx);
    },

    softmax(x, out, p) {
      f32(x, 'softmax', 'input');
      f32(out, 'softmax', 'output');
      need(x, p.rows * p.cols, 'softmax', 'input', [p.rows, p.cols]);
      need(out, p.rows * p.cols, 'softmax', 'output', [p.rows, p.cols]);
      launch(K.softmax, p.log ? 'logSoftmax' : 'softmax', [p.rows, p.cols, p.log ? 1 : 0], x, out);
      touch(out);
    },

    crossEntropy(logits, labels, losses, p) {
      f32(logits, 'crossEntropy', 'logits');
      i32(labels, 'crossEntropy', 'labels');
      f32(losses, 'crossEntropy', 'losses');
      need(logits, p.rows * p.cols, 'crossEntropy', 'logits', [p.rows, p.cols]);
      need(labels, p.rows, 'crossEntropy', 'labels', [p.rows]);
      need(losses, p.rows, 'crossEntropy', 'losses', [p.rows]);
      launch(K.crossEntropy, 'crossEntropy', [p.rows, p.cols], logits, labels, losses);
      touch(losses);
    },

    crossEntropyBackward(logits, labels, dlosses, dlogits, p) {
      f32(logits, 'crossEntropyBackward', 'logits');
      i32(labels, 'crossEntropyBackward', 'labels');
      f32(dlosses, 'crossEntropyBackward', 'dlosses');
      f32(dlogits, 'crossEntropyBackward', 'dlogits');
      need(logits, p.rows * p.cols, 'crossEntropyBackward', 'logits', [p.rows, p.cols]);
      need(labels, p.rows, 'crossEntropyBackward', 'labels', [p.rows]);
      need(dlosses, p.rows, 'crossEntropyBackward', 'dlosses', [p.rows]);
      need(dlogits, p.rows * p.cols, 'crossEntropyBackward', 'dlogits', [p.rows, p.cols]);
      launch(K.crossEntropyBackward, 'crossEntropyBackward', [p.rows, p.cols], logits, labels, dlosses, dlogits);
      touch(dlogits);
    },

    random(out, p) {
      f32(out, 'random', 'output');
      // The toolkit's reference fill validates the parameters and returns the float32 host constants of the
      // stream (philox.ts); with an empty array it computes nothing else.
      const c = randomConstants(p, 'float32');
      const constants =
        c.dist === 'uniform' ? [0, c.lo, c.range, c.threshold, c.replacement] : c.dist === 'normal' ? [1, c.mean, c.std, 0, 0] : [2, c.p, c.scale, 0, 0];
      launch(K.random, 'random', [constants[0]!, p.seed, p.offset, ...constants.slice(1)], out);
      touch(out);
    },

    gather(x, indices, out, p) {
      i32(indices, 'gather', 'indices');
      if (x.dtype !== out.dtype) throw new TesseraError('gather', `input ${x.dtype} and output ${out.dtype} differ`);
      need(x, p.outer * p.axisSize * p.inner, 'gather', 'input', [p.outer, p.axisSize, p.inner]);
      need(indices, p.count, 'gather', 'indices', [p.count]);
      need(out, p.outer * p.count * p.inner, 'gather', 'output', [p.outer, p.count, p.inner]);
      launch(K.gather, 'gather', [p.outer, p.axisSize, p.inner, p.count], x, indices, out);
      touch(out);
    },

    gatherBackward(dy, indices, dx, p) {
      f32(dy, 'gatherBackward', 'dy');
      i32(indices, 'gatherBackward', 'indices');
      f32(dx, 'gatherBackward', 'dx');
      need(dy, p.outer * p.count * p.inner, 'gatherBackward', 'dy', [p.outer, p.count, p.inner]);
      need(indices, p.count, 'gatherBackward', 'indices', [p.count]);
      need(dx, p.outer * p.axisSize * p.inner, 'gatherBackward', 'dx', [p.outer, p.axisSize, p.inner]);
      launch(K.gatherBackward, 'gatherBackward', [p.outer, p.axisSize, p.inner, p.count], dy, indices, dx);
      touch(dx);
    },

    oneHot(indices, out, p) {
      i32(indices, 'oneHot', 'indices');
      f32(out, 'oneHot', 'output');
      need(indices, p.n, 'oneHot', 'indices', [p.n]);
      need(out, p.n * p.depth, 'oneHot', 'output', [p.n, p.depth]);
      launch(K.oneHot, 'oneHot', [p.n, p.depth], indices, out);
      touch(out);
    },

    topk(x, values, indices, p) {
      i32(indices, 'topk', 'indices');
      if (x.dtype !== values.dtype) throw new TesseraError('topk', `input ${x.dtype} and values ${values.dtype} differ`);
      if (p.k > p.cols) throw new TesseraError('topk', `k ${p.k} exceeds the row length ${p.cols}`);
      need(x, p.rows * p.cols, 'topk', 'input', [p.rows, p.cols]);
      need(values, p.rows * p.k, 'topk', 'values', [p.rows, p.k]);
      need(indices, p.rows * p.k, 'topk', 'indices', [p.rows, p.k]);
      launch(K.topk, 'topk', [p.rows, p.cols, p.k, p.largest ? 1 : 0], x, values, indices);
      touch(values);
      touch(indices);
    },

    sgdUpdate(param, grad, velocity, p) {
      f32(param, 'sgdUpdate', 'param');
      f32(grad, 'sgdUpdate', 'grad');
      need(grad, param.size, 'sgdUpdate', 'grad', [param.size]);
      if (velocity) {
        f32(velocity, 'sgdUpdate', 'velocity');
        need(velocity, param.size, 'sgdUpdate', 'velocity', [param.size]);
      }
      if (p.rule !== 'paper' && p.rule !== 'pytorch') throw new TesseraError('sgdUpdate', `unknown rule ${JSON.stringify(p.rule as string)}`);
      launch(
        K.sgdUpdate,
        'sgdUpdate',
        [p.rule === 'paper' ? 0 : 1, p.lr, p.momentum, p.weightDecay, p.dampening, p.nesterov ? 1 : 0, p.firstStep ? 1 : 0],
        param,
        grad,
        velocity,
      );
      touch(param);
      if (velocity) touch(velocity);
    },
  };
}

export type { DType };
