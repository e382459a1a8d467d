/**
 * 2-D convolution and its two backward kernels as GEMMs over im2col patch matrices, per image and group.
 * Shapes (see Conv2dParams): x [n, cIn, h, w], weight [cOut, cIn/groups, kh, kw], y [n, cOut, outH, outW].
 * With K = cIn/groups·kh·kw and P = outH·outW, per image i and group g:
 *   forward:         y_g (cOut/g × P)  = W_g (cOut/g × K) · col(x_i,g) (K × P)
 *   backward input:  dx_i,g = col2im(W_gᵀ (K × cOut/g) · dy_g (cOut/g × P))
 *   backward filter: dW_g  += dy_g (cOut/g × P) · col(x_i,g)ᵀ (P × K), summed over the batch in float64.
 * A 1×1, stride-1, unpadded convolution reads x (or writes dx) directly as its patch matrix. The forward
 * pass puts the patch matrices of several small images side by side, one GEMM for all of them
 * (imagesPerForwardGemm).
 *
 * With worker threads, a batch is split into contiguous ranges of images, one per thread, each with its own
 * patch scratch: everything (im2col, GEMM, col2im) runs in parallel and nothing is packed twice. A batch
 * too small to split evenly instead runs image by image with each GEMM split across the threads. Workers
 * import the range functions (../worker.ts); `mm` is the calling thread's serial or parallel GEMM.
 */
import type { Conv2dParams } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import type { GemmFn } from './matmul.js';
import type { CpuRuntime } from './runtime.js';
import { type FloatArray, floats } from './util.js';

/**
 * col[colOff + ((c·kh + r)·kw + s)·ldCol + oh·outW + ow] = x[xOff + c·h·w + ih·w + iw] with ih = oh·sh − ph + r·dh
 * and iw = ow·sw − pw + s·dw, or 0 in the padding: the image's patch matrix, written at column colOff of a
 * matrix with row stride ldCol (≥ outH·outW) so that several images can sit side by side. The valid
 * output-column range of each tap is computed once, so the inner loop has no bounds tests.
 */
export function im2col(x: FloatArray, xOff: number, channels: number, p: Conv2dParams, col: FloatArray, colOff: number, ldCol: number): void {
  const { h, w, kh, kw, outH, outW, strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw } = p;
  const plane = h * w;
  let row = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * plane;
    for (let r = 0; r < kh; r++) {
      const tapH = r * dh - ph;
      for (let s = 0; s < kw; s++, row += ldCol) {
        // Output columns lo ≤ ow < hi read inside the row: 0 ≤ ow·sw + tapW < w.
        const tapW = s * dw - pw;
        const lo = Math.min(outW, tapW >= 0 ? 0 : Math.ceil(-tapW / sw));
        const hi = Math.max(lo, w - 1 - tapW < 0 ? 0 : Math.min(outW, Math.floor((w - 1 - tapW) / sw) + 1));
        for (let oh = 0; oh < outH; oh++) {
          const o = row + oh * outW;
          const ih = oh * sh + tapH;
          if (ih < 0 || ih >= h) {
            col.fill(0, o, o + outW);
            continue;
          }
          for (let ow = 0; ow < lo; ow++) col[o + ow] = 0;
          const src = xc + ih * w + tapW;
          if (sw === 1) for (let ow = lo; ow < hi; ow++) col[o + ow] = x[src + ow]!;
          else for (let ow = lo, i = src + lo * sw; ow < hi; ow++, i += sw) col[o + ow] = x[i]!;
          for (let ow = hi; ow < outW; ow++) col[o + ow] = 0;
        }
      }
    }
  }
}

/** The adjoint of im2col: dx[dxOff + c·h·w + ih·w + iw] += col[row, oh·outW + ow] over the valid taps. */
export function col2im(col: Float64Array, channels: number, p: Conv2dParams, dx: Float64Array, dxOff: number): void {
  const { h, w, kh, kw, outH, outW, strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw } = p;
  const plane = h * w;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const xc = dxOff + c * plane;
    for (let r = 0; r < kh; r++) {
      const tapH = r * dh - ph;
      for (let s = 0; s < kw; s++, row += P) {
        const tapW = s * dw - pw;
        const lo = tapW >= 0 ? 0 : Math.ceil(-tapW / sw);
        const hi = w - 1 - tapW < 0 ? 0 : Math.min(outW, Math.floor((w - 1 - tapW) / sw) + 1);
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * sh + tapH;
          if (ih < 0 || ih >= h) continue;
          const o = row + oh * outW;
          for (let ow = lo, i = xc + ih * w + tapW + lo * sw; ow < hi; ow++, i += sw) dx[i] = dx[i]! + col[o + ow]!;
        }
      }
    }
  }
}

/**
 * Images per forward GEMM: a small image's patch matrix (e.g. 13×13 = 169 columns) makes a thin GEMM that
 * repacks the weights per image and pads its last column panel; several images side by side share one
 * packing of the weights and fill the panels. Each output element's arithmetic is the same either way (its
 * sum runs over k in the same blocks, in the same GEMM kernel), so batching changes no result. A 1×1 output
 * stays unbatched: alone it is a matrix-vector product, a different kernel with a different summation order.
 */
export function imagesPerForwardGemm(p: Conv2dParams, images: number): number {
  const P = p.outH * p.outW;
  return isPointwise(p) || P < 2 || P >= BATCH_COLUMNS ? 1 : Math.max(1, Math.min(images, Math.floor(BATCH_COLUMNS / P)));
}
/** Columns a batched forward GEMM aims for: two of the float32 GEMM's column blocks. */
const BATCH_COLUMNS = 1024;

/**
 * Forward for images [i0, i1); `col` holds K·P·nb elements and `yb` cOut/groups·P·nb (unused when nb is 1),
 * nb = imagesPerForwardGemm(p, i1 − i0).
 */
export function convForwardRange(
  X: FloatArray,
  W: FloatArray,
  bias: FloatArray | null,
  Y: FloatArray,
  p: Conv2dParams,
  i0: number,
  i1: number,
  col: FloatArray,
  yb: FloatArray,
  mm: GemmFn,
): void {
  const { cIn, cOut, groups, h, w } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = p.outH * p.outW;
  const nb = imagesPerForwardGemm(p, i1 - i0);
  if (nb > 1) {
    for (let b0 = i0; b0 < i1; b0 += nb) {
      const count = Math.min(nb, i1 - b0);
      const cols = count * P;
      for (let g = 0; g < groups; g++) {
        for (let b = 0; b < count; b++) im2col(X, ((b0 + b) * cIn + g * cInG) * h * w, cInG, p, col, b * P, cols);
        // With a bias the GEMM accumulates onto it (beta = 1): one rounding of bias + Σ, as unbatched.
        if (bias) for (let co = 0; co < cOutG; co++) yb.fill(bias[g * cOutG + co]!, co * cols, (co + 1) * cols);
        mm(cOutG, cols, K, W, g * cOutG * K, K, 1, col, 0, cols, 1, yb, 0, cols, bias ? 1 : 0);
        for (let b = 0; b < count; b++) {
          const yOff = ((b0 + b) * cOut + g * cOutG) * P;
          for (let co = 0; co < cOutG; co++) Y.set(yb.subarray(co * cols + b * P, co * cols + (b + 1) * P), yOff + co * P);
        }
      }
    }
    return;
  }
  const pointwise = isPointwise(p);
  for (let i = i0; i < i1; i++) {
    const yImg = i * cOut * P;
    // With a bias the GEMM accumulates onto it (beta = 1): one rounding of bias + Σ.
    if (bias) for (let co = 0; co < cOut; co++) Y.fill(bias[co]!, yImg + co * P, yImg + (co + 1) * P);
    for (let g = 0; g < groups; g++) {
      const xOff = (i * cIn + g * cInG) * h * w;
      if (pointwise) mm(cOutG, P, K, W, g * cOutG * K, K, 1, X, xOff, P, 1, Y, yImg + g * cOutG * P, P, bias ? 1 : 0);
      else {
        im2col(X, xOff, cInG, p, col, 0, P);
        mm(cOutG, P, K, W, g * cOutG * K, K, 1, col, 0, P, 1, Y, yImg + g * cOutG * P, P, bias ? 1 : 0);
      }
    }
  }
}

/** Input gradient for images [i0, i1); `dcol` holds K·P and `acc` cIn/groups·h·w doubles. */
export function convBackwardInputRange(
  DY: FloatArray,
  W: FloatArray,
  DX: FloatArray,
  p: Conv2dParams,
  i0: number,
  i1: number,
  dcol: Float64Array,
  acc: Float64Array,
  mm: GemmFn,
): void {
  const { cIn, cOut, groups, h, w } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = p.outH * p.outW;
  const plane = h * w;
  const pointwise = p.kh === 1 && p.kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0;
  for (let i = i0; i < i1; i++) {
    for (let g = 0; g < groups; g++) {
      const dyOff = (i * cOut + g * cOutG) * P;
      const dxOff = (i * cIn + g * cInG) * plane;
      if (pointwise) {
        mm(K, P, cOutG, W, g * cOutG * K, 1, K, DY, dyOff, P, 1, DX, dxOff, P, 0);
        continue;
      }
      // Patch gradients and their scatter-add back onto the image stay in float64; dx is rounded once.
      mm(K, P, cOutG, W, g * cOutG * K, 1, K, DY, dyOff, P, 1, dcol, 0, P, 0);
      const len = cInG * plane;
      acc.fill(0, 0, len);
      col2im(dcol, cInG, p, acc, 0);
      for (let t = 0; t < len; t++) DX[dxOff + t] = acc[t]!;
    }
  }
}

/** Σ over images [i0, i1) of the filter gradient, written (not added) to `acc` (cOut·K doubles); i1 > i0. */
export function convBackwardFilterRange(
  X: FloatArray,
  DY: FloatArray,
  acc: Float64Array,
  p: Conv2dParams,
  i0: number,
  i1: number,
  col: FloatArray,
  mm: GemmFn,
): void {
  const { cIn, cOut, groups, h, w } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = p.outH * p.outW;
  const pointwise = p.kh === 1 && p.kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0;
  for (let i = i0; i < i1; i++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (i * cIn + g * cInG) * h * w;
      const dyOff = (i * cOut + g * cOutG) * P;
      const beta = i === i0 ? 0 : 1;
      if (pointwise) mm(cOutG, K, P, DY, dyOff, P, 1, X, xOff, 1, P, acc, g * cOutG * K, K, beta);
      else {
        im2col(X, xOff, cInG, p, col, 0, P);
        mm(cOutG, K, P, DY, dyOff, P, 1, col, 0, 1, P, acc, g * cOutG * K, K, beta);
      }
    }
  }
}

const COL = 0;
const ACC = 1000;
const YB = 2000;

/**
 * Number of image ranges to run on separate threads: 1 (run serially, each GEMM possibly split) unless the
 * batch divides across the ready threads with little imbalance and the work is worth the round trip.
 */
function imageParts(rt: CpuRuntime, p: Conv2dParams, arrays: readonly FloatArray[]): number {
  if (p.n < 2) return 1;
  const macs = p.n * p.cOut * p.outH * p.outW * (p.cIn / p.groups) * p.kh * p.kw;
  if (macs < 2 * rt.parallelMinMacs) return 1;
  const parts = Math.min(rt.workers() + 1, p.n, Math.floor(macs / rt.parallelMinMacs));
  // Within 15% of a perfect split (e.g. 8 images on 2, 3 or 4 threads; not 3 images on 2).
  if (parts < 2 || Math.ceil(p.n / parts) * parts > 1.15 * p.n) return 1;
  return arrays.every((a) => rt.isShared(a)) ? parts : 1;
}

/** Whether x itself is the patch matrix (no im2col / col2im scratch needed). */
function isPointwise(p: Conv2dParams): boolean {
  return p.kh === 1 && p.kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0;
}

/** Image range of part t of `parts`. */
function range(n: number, parts: number, t: number): [number, number] {
  return [Math.round((t * n) / parts), Math.round(((t + 1) * n) / parts)];
}

export function conv2d(x: CpuBuffer, weight: CpuBuffer, bias: CpuBuffer | null, y: CpuBuffer, p: Conv2dParams, rt: CpuRuntime): void {
  const X = floats(x, 'conv2d', 'input');
  const W = floats(weight, 'conv2d', 'weight');
  const Y = floats(y, 'conv2d', 'output');
  const bd = bias ? floats(bias, 'conv2d', 'bias') : null;
  const parts = imageParts(rt, p, bd ? [X, W, Y, bd] : [X, W, Y]);
  // Scratch for the largest image range: its patch matrices side by side, and their batched GEMM's output.
  const nb = imagesPerForwardGemm(p, Math.ceil(p.n / parts));
  const P = p.outH * p.outW;
  const colSize = isPointwise(p) ? 0 : (p.cIn / p.groups) * p.kh * p.kw * P * nb;
  const ybSize = nb > 1 ? (p.cOut / p.groups) * P * nb : 0;
  if (parts === 1) {
    convForwardRange(X, W, bd, Y, p, 0, p.n, rt.scratchLike(COL, colSize, X), rt.scratchLike(YB, ybSize, Y), rt.gemm);
    return;
  }
  const cols = Array.from({ length: parts }, (_, t) => rt.scratchLike(COL + t, colSize, X));
  const ybs = Array.from({ length: parts }, (_, t) => rt.scratchLike(YB + t, ybSize, Y));
  rt.fork(
    Array.from({ length: parts - 1 }, (_, t) => ['convForwardRange', X, W, bd, Y, p, ...range(p.n, parts, t + 1), cols[t + 1], ybs[t + 1]]),
    () => convForwardRange(X, W, bd, Y, p, ...range(p.n, parts, 0), cols[0]!, ybs[0]!, rt.serialGemm),
  );
}

export function conv2dBackwardInput(dy: CpuBuffer, weight: CpuBuffer, dx: CpuBuffer, p: Conv2dParams, rt: CpuRuntime): void {
  const DY = floats(dy, 'conv2dBackwardInput', 'dy');
  const W = floats(weight, 'conv2dBackwardInput', 'weight');
  const DX = floats(dx, 'conv2dBackwardInput', 'dx');
  const cInG = p.cIn / p.groups;
  const colSize = isPointwise(p) ? 0 : cInG * p.kh * p.kw * p.outH * p.outW;
  const accSize = isPointwise(p) ? 0 : cInG * p.h * p.w;
  const parts = imageParts(rt, p, [DY, W, DX]);
  if (parts === 1) {
    convBackwardInputRange(DY, W, DX, p, 0, p.n, rt.scratch64(COL, colSize), rt.scratch64(ACC, accSize), rt.gemm);
    return;
  }
  const dcols = Array.from({ length: parts }, (_, t) => rt.scratch64(COL + t, colSize));
  const accs = Array.from({ length: parts }, (_, t) => rt.scratch64(ACC + t, accSize));
  rt.fork(
    Array.from({ length: parts - 1 }, (_, t) => ['convBackwardInputRange', DY, W, DX, p, ...range(p.n, parts, t + 1), dcols[t + 1], accs[t + 1]]),
    () => convBackwardInputRange(DY, W, DX, p, ...range(p.n, parts, 0), dcols[0]!, accs[0]!, rt.serialGemm),
  );
}

export function conv2dBackwardFilter(x: CpuBuffer, dy: CpuBuffer, dw: CpuBuffer, p: Conv2dParams, rt: CpuRuntime): void {
  const X = floats(x, 'conv2dBackwardFilter', 'input');
  const DY = floats(dy, 'conv2dBackwardFilter', 'dy');
  const DW = floats(dw, 'conv2dBackwardFilter', 'dw');
  const wSize = p.cOut * (p.cIn / p.groups) * p.kh * p.kw;
  const colSize = isPointwise(p) ? 0 : (p.cIn / p.groups) * p.kh * p.kw * p.outH * p.outW;
  if (p.n === 0) {
    DW.fill(0, 0, wSize);
    return;
  }
  const parts = imageParts(rt, p, [X, DY, DW]);
  if (parts === 1) {
    // The batch sum accumulates in float64 (directly in dw when it is float64).
    const acc = DW instanceof Float64Array ? DW : rt.scratch64(ACC, wSize);
    convBackwardFilterRange(X, DY, acc, p, 0, p.n, rt.scratchLike(COL, colSize, X), rt.gemm);
    if (acc !== DW) for (let t = 0; t < wSize; t++) DW[t] = acc[t]!;
    return;
  }
  // One float64 partial sum per thread, added up here.
  const cols = Array.from({ length: parts }, (_, t) => rt.scratchLike(COL + t, colSize, X));
  const accs = Array.from({ length: parts }, (_, t) => rt.scratch64(ACC + t, wSize));
  rt.fork(
    Array.from({ length: parts - 1 }, (_, t) => ['convBackwardFilterRange', X, DY, accs[t + 1], p, ...range(p.n, parts, t + 1), cols[t + 1]]),
    () => convBackwardFilterRange(X, DY, accs[0]!, p, ...range(p.n, parts, 0), cols[0]!, rt.serialGemm),
  );
  const first = accs[0]!;
  for (let t = 0; t < wSize; t++) {
    let s = first[t]!;
    for (let q = 1; q < parts; q++) s += accs[q]![t]!;
    DW[t] = s;
  }
}
