/**
 * 2-D convolution and its two backward kernels as GEMMs over im2col patch matrices, per image and group.
 * Shapes (see Conv2dParams): x [n, cIn, h, w], weight [cOut, cIn/groups, kh, kw], y [n, cOut, outH, outW].
 * With K = cIn/groups·kh·kw and P = outH·outW, per image i and group g:
 *   forward:         y_g (cOut/g × P)  = W_g (cOut/g × K) · col(x_i,g) (K × P)
 *   backward input:  dx_i,g = col2im(W_gᵀ (K × cOut/g) · dy_g (cOut/g × P))
 *   backward filter: dW_g  += dy_g (cOut/g × P) · col(x_i,g)ᵀ (P × K), summed over the batch in float64.
 * A 1×1, stride-1, unpadded convolution reads x (or writes dx) directly as its patch matrix.
 */
import type { Conv2dParams } from '../../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import type { CpuRuntime } from './runtime.js';
import { type FloatArray, floats } from './util.js';

function isPointwise(p: Conv2dParams): boolean {
  return p.kh === 1 && p.kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padH === 0 && p.padW === 0;
}

/** First output column whose tap (offset `tap` = s·dilation − pad) lands at input column ≥ 0. */
function firstValid(tap: number, stride: number): number {
  return tap >= 0 ? 0 : Math.ceil(-tap / stride);
}

/** One past the last output column whose tap lands at input column < w. */
function endValid(tap: number, stride: number, w: number, outW: number): number {
  if (w - 1 - tap < 0) return 0;
  return Math.min(outW, Math.floor((w - 1 - tap) / stride) + 1);
}

/**
 * col[(c·kh + r)·kw + s, oh·outW + ow] = x[xOff + c·h·w + ih·w + iw] with ih = oh·sh − ph + r·dh and
 * iw = ow·sw − pw + s·dw, or 0 in the padding. The valid column range per tap is computed once, so the
 * inner loop has no bounds tests.
 */
export function im2col(x: FloatArray, xOff: number, channels: number, p: Conv2dParams, col: FloatArray): void {
  const { h, w, kh, kw, outH, outW, strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw } = p;
  const plane = h * w;
  const P = outH * outW;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * plane;
    for (let r = 0; r < kh; r++) {
      const tapH = r * dh - ph;
      for (let s = 0; s < kw; s++, row += P) {
        const tapW = s * dw - pw;
        const lo = firstValid(tapW, sw);
        const hi = Math.max(lo, endValid(tapW, sw, w, outW));
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
        const lo = firstValid(tapW, sw);
        const hi = endValid(tapW, sw, w, outW);
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

const COL = 0;
const ACC = 1;

export function conv2d(x: CpuBuffer, weight: CpuBuffer, bias: CpuBuffer | null, y: CpuBuffer, p: Conv2dParams, rt: CpuRuntime): void {
  const X = floats(x, 'conv2d', 'input');
  const W = floats(weight, 'conv2d', 'weight');
  const Y = floats(y, 'conv2d', 'output');
  const bd = bias ? floats(bias, 'conv2d', 'bias') : null;
  const { n, cIn, cOut, groups, h, w } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = p.outH * p.outW;
  const pointwise = isPointwise(p);
  const col = pointwise ? X : rt.scratchLike(COL, K * P, X);
  for (let i = 0; i < n; i++) {
    const yImg = i * cOut * P;
    if (bd) {
      for (let co = 0; co < cOut; co++) Y.fill(bd[co]!, yImg + co * P, yImg + (co + 1) * P);
    }
    const beta = bd ? 1 : 0;
    for (let g = 0; g < groups; g++) {
      const xOff = (i * cIn + g * cInG) * h * w;
      let bOff = xOff;
      if (!pointwise) {
        im2col(X, xOff, cInG, p, col);
        bOff = 0;
      }
      rt.gemm(cOutG, P, K, W, g * cOutG * K, K, 1, col, bOff, P, 1, Y, yImg + g * cOutG * P, P, beta);
    }
  }
}

export function conv2dBackwardInput(dy: CpuBuffer, weight: CpuBuffer, dx: CpuBuffer, p: Conv2dParams, rt: CpuRuntime): void {
  const DY = floats(dy, 'conv2dBackwardInput', 'dy');
  const W = floats(weight, 'conv2dBackwardInput', 'weight');
  const DX = floats(dx, 'conv2dBackwardInput', 'dx');
  const { n, cIn, cOut, groups, h, w } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = p.outH * p.outW;
  const plane = h * w;
  if (isPointwise(p)) {
    for (let i = 0; i < n; i++) {
      for (let g = 0; g < groups; g++) {
        rt.gemm(K, P, cOutG, W, g * cOutG * K, 1, K, DY, (i * cOut + g * cOutG) * P, P, 1, DX, (i * cIn + g * cInG) * plane, P, 0);
      }
    }
    return;
  }
  // Patch gradients and their scatter-add back onto the image both stay in float64; dx is rounded once.
  const dcol = rt.scratch64(COL, K * P);
  const acc = rt.scratch64(ACC, cInG * plane);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < groups; g++) {
      rt.gemm(K, P, cOutG, W, g * cOutG * K, 1, K, DY, (i * cOut + g * cOutG) * P, P, 1, dcol, 0, P, 0);
      acc.fill(0, 0, cInG * plane);
      col2im(dcol, cInG, p, acc, 0);
      const o = (i * cIn + g * cInG) * plane;
      for (let t = 0, len = cInG * plane; t < len; t++) DX[o + t] = acc[t]!;
    }
  }
}

export function conv2dBackwardFilter(x: CpuBuffer, dy: CpuBuffer, dw: CpuBuffer, p: Conv2dParams, rt: CpuRuntime): void {
  const X = floats(x, 'conv2dBackwardFilter', 'input');
  const DY = floats(dy, 'conv2dBackwardFilter', 'dy');
  const DW = floats(dw, 'conv2dBackwardFilter', 'dw');
  const { n, cIn, cOut, groups, h, w } = p;
  const cInG = cIn / groups;
  const cOutG = cOut / groups;
  const K = cInG * p.kh * p.kw;
  const P = p.outH * p.outW;
  const pointwise = isPointwise(p);
  // The batch sum accumulates in float64 (directly in dw when it is float64).
  const acc = DW instanceof Float64Array ? DW : rt.scratch64(ACC, cOut * K);
  if (n === 0) acc.fill(0, 0, cOut * K);
  const col = pointwise ? X : rt.scratchLike(COL, K * P, X);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (i * cIn + g * cInG) * h * w;
      let cOff = xOff;
      if (!pointwise) {
        im2col(X, xOff, cInG, p, col);
        cOff = 0;
      }
      rt.gemm(cOutG, K, P, DY, (i * cOut + g * cOutG) * P, P, 1, col, cOff, 1, P, acc, g * cOutG * K, K, i === 0 ? 0 : 1);
    }
  }
  if (acc !== DW) for (let t = 0, len = cOut * K; t < len; t++) DW[t] = acc[t]!;
}
