/** Max, average and adaptive average 2-D pooling. */
import { record } from '../autograd.js';
import type { Pool2dParams } from '../backend/kernels.js';
import { TesseraError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { pair, type Pair } from './conv.js';
import { tensor } from './creation.js';
import { disposeIntermediate, empty, kernels, requireFloat, reshapeTemp } from './util.js';

export interface Pool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  /** Round the output size up (PyTorch ceil_mode; Caffe's pooling). */
  ceilMode?: boolean;
}

/** PyTorch's pooling output size: ⌊(size + 2p − k)/s⌋ + 1, or with ceil mode ⌈…⌉ + 1 less a window starting past the input. */
function outSize(size: number, k: number, s: number, p: number, ceil: boolean): number {
  let out = (ceil ? Math.ceil((size + 2 * p - k) / s) : Math.floor((size + 2 * p - k) / s)) + 1;
  // The last window must start inside the input or its left padding.
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

function poolGeometry(op: string, x: Tensor, opts: Pool2dOptions): Pool2dParams {
  if (x.rank !== 4) throw new TesseraError(op, `input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (opts === undefined || opts.kernelSize === undefined) throw new TesseraError(op, 'kernelSize is required');
  const [kh, kw] = pair(opts.kernelSize, 1, 'kernelSize', op, 1);
  const [strideH, strideW] = pair(opts.stride ?? opts.kernelSize, 1, 'stride', op, 1);
  const [padH, padW] = pair(opts.padding, 0, 'padding', op, 0);
  if (padH * 2 > kh || padW * 2 > kw) {
    throw new TesseraError(op, `padding ${padH}×${padW} must be at most half the kernel ${kh}×${kw}`);
  }
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const ceil = opts.ceilMode ?? false;
  const outH = outSize(h, kh, strideH, padH, ceil);
  const outW = outSize(w, kw, strideW, padW, ceil);
  // With ceil mode a kernel may overhang a small input (PyTorch accepts a 2×2 window over 1×1); the output must
  // still have at least one cell.
  if (outH < 1 || outW < 1) {
    throw new TesseraError(
      op,
      `kernel ${kh}×${kw} with stride ${strideH}×${strideW} and padding ${padH}×${padW} gives an empty output ${outH}×${outW} for input ${fmtShape(x.shape)}${ceil ? '' : ' (ceilMode would round up)'}`,
    );
  }
  return { n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW };
}

/** Accepts [C, H, W] by adding a batch dim. */
function batched(x: Tensor, f: (x4: Tensor) => Tensor): Tensor {
  if (x.rank !== 3) return f(x);
  const y = f(x.unsqueeze(0));
  return reshapeTemp(y, y.shape.slice(1));
}

export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const op = 'maxPool2d';
  x.buf(op);
  requireFloat(op, x);
  return batched(x, (x4) => {
    const p = poolGeometry(op, x4, opts);
    const y = empty(x4.backendImpl, [p.n, p.c, p.outH, p.outW], x4.dtype);
    const argmax = empty(x4.backendImpl, y.shape, 'int32');
    if (y.size > 0) kernels(x4).maxPool2d(x4.buf(op), y.buf(op), argmax.buf(op), p);
    if (!x4.requiresGrad) argmax.dispose();
    return record(
      y,
      op,
      [x4],
      (g) => {
        const dx = empty(g.backendImpl, x4.shape, g.dtype);
        kernels(g).maxPool2dBackward(g.buf(op), argmax.buf(op), dx.buf(op), p);
        return [dx];
      },
      [argmax],
    );
  });
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count padded cells in the divisor (PyTorch's default, true). */
  countIncludePad?: boolean;
}

export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  x.buf(op);
  requireFloat(op, x);
  return batched(x, (x4) => {
    const p = { ...poolGeometry(op, x4, opts), countIncludePad: opts.countIncludePad ?? true };
    const y = empty(x4.backendImpl, [p.n, p.c, p.outH, p.outW], x4.dtype);
    if (y.size > 0) kernels(x4).avgPool2d(x4.buf(op), y.buf(op), p);
    const pooled = record(y, op, [x4], (g) => {
      const dx = empty(g.backendImpl, x4.shape, g.dtype);
      kernels(g).avgPool2dBackward(g.buf(op), dx.buf(op), p);
      return [dx];
    });
    const correction = p.countIncludePad ? ceilDivisorCorrection(p, x4) : null;
    if (!correction) return pooled;
    const out = pooled.mul(correction);
    disposeIntermediate(pooled);
    if (!out.requiresGrad) correction.dispose();
    return out;
  });
}

/**
 * With countIncludePad, the kernels divide every window by kh·kw. PyTorch divides by the window clipped to the
 * padded input, (min(h0 + kh, h + padH) − h0)·(likewise for w), which is smaller for a last window that
 * ceilMode lets overhang the padded input. Returns the [outH, outW] factor kh·kw / clipped that turns the
 * former into the latter, or null when no window overhangs (always so without ceilMode).
 */
function ceilDivisorCorrection(p: Pool2dParams, like: Tensor): Tensor | null {
  const clipped = (o: number, s: number, pad: number, k: number, size: number): number => Math.min(o * s - pad + k, size + pad) - (o * s - pad);
  const rows = Array.from({ length: p.outH }, (_, o) => clipped(o, p.strideH, p.padH, p.kh, p.h));
  const cols = Array.from({ length: p.outW }, (_, o) => clipped(o, p.strideW, p.padW, p.kw, p.w));
  if (rows.every((r) => r === p.kh) && cols.every((c) => c === p.kw)) return null;
  const f = new Float64Array(p.outH * p.outW);
  for (let i = 0; i < p.outH; i++) for (let j = 0; j < p.outW; j++) f[i * p.outW + j] = (p.kh * p.kw) / (rows[i]! * cols[j]!);
  return tensor(f, [p.outH, p.outW], { dtype: like.dtype, backend: like.backend });
}

/** Average pooling to a fixed output size, with PyTorch's bin boundaries. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  const op = 'adaptiveAvgPool2d';
  x.buf(op);
  requireFloat(op, x);
  const [outH, outW] = pair(outputSize, 1, 'outputSize', op, 1);
  return batched(x, (x4) => {
    if (x4.rank !== 4) throw new TesseraError(op, `input must be [N, C, H, W], got ${fmtShape(x4.shape)}`);
    const [n, c, h, w] = x4.shape as [number, number, number, number];
    if (h === 0 || w === 0) throw new TesseraError(op, `input ${fmtShape(x4.shape)} has an empty spatial dimension`);
    const p = { n, c, h, w, outH, outW };
    const y = empty(x4.backendImpl, [n, c, outH, outW], x4.dtype);
    if (y.size > 0) kernels(x4).adaptiveAvgPool2d(x4.buf(op), y.buf(op), p);
    return record(y, op, [x4], (g) => {
      const dx = empty(g.backendImpl, x4.shape, g.dtype);
      kernels(g).adaptiveAvgPool2dBackward(g.buf(op), dx.buf(op), p);
      return [dx];
    });
  });
}
