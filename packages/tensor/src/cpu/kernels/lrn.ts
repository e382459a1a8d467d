/**
 * Local response normalisation across channels (see LrnParams): with lo = ⌊size/2⌋, hi = ⌊(size−1)/2⌋,
 * s_c = k + α/size · Σ_{j=c−lo}^{c+hi} x_j² and y_c = x_c · s_c^−β, per (image, pixel).
 *
 * Backward, from ∂s_j/∂x_i = 2α/size · x_i for every j whose window holds i (i.e. i−hi ≤ j ≤ i+lo):
 *   dx_i = dy_i · s_i^−β − (2αβ/size) · x_i · Σ_{j=i−hi}^{i+lo} dy_j · y_j / s_j.
 */
import type { LrnParams } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { type FloatArray, floats } from './util.js';

/** Squares of one image: sq[t] = x[img + t]². */
function squares(X: FloatArray, img: number, len: number, sq: Float64Array): void {
  for (let t = 0; t < len; t++) {
    const v = X[img + t]!;
    sq[t] = v * v;
  }
}

/**
 * acc[t] = Σ_{j=j0}^{j1} v[j·plane + t] for every pixel t: whole planes added in order, so memory is read
 * sequentially and each sum is exact in the same order as a direct window sum (no running add/subtract).
 */
function windowSums(v: Float64Array, plane: number, j0: number, j1: number, acc: Float64Array): void {
  acc.fill(0, 0, plane);
  for (let j = j0; j <= j1; j++) {
    const base = j * plane;
    for (let t = 0; t < plane; t++) acc[t]! += v[base + t]!;
  }
}

/** s^−β, with the common β = 0.75 as two square roots instead of Math.pow. */
function negPow(s: number, beta: number): number {
  if (beta === 0.75) {
    const r = Math.sqrt(s);
    return 1 / (r * Math.sqrt(r));
  }
  return Math.pow(s, -beta);
}

/** Scratch reused across calls (kernels run synchronously on one thread). */
let scratch = new Float64Array(0);
function scratchOf(len: number): Float64Array {
  if (scratch.length < len) scratch = new Float64Array(len);
  return scratch;
}

export function lrn(x: CpuBuffer, y: CpuBuffer, p: LrnParams): void {
  const X = floats(x, 'lrn', 'input');
  const Y = floats(y, 'lrn', 'output');
  const { c, size, alpha, beta, k } = p;
  const plane = p.h * p.w;
  const chw = c * plane;
  const lo = Math.floor(size / 2);
  const hi = Math.floor((size - 1) / 2);
  const a = alpha / size;
  const buf = scratchOf(chw + plane);
  const sq = buf.subarray(0, chw);
  const acc = buf.subarray(chw, chw + plane);
  for (let i = 0; i < p.n; i++) {
    const img = i * chw;
    squares(X, img, chw, sq);
    for (let ch = 0; ch < c; ch++) {
      windowSums(sq, plane, Math.max(0, ch - lo), Math.min(c - 1, ch + hi), acc);
      const o = img + ch * plane;
      for (let t = 0; t < plane; t++) Y[o + t] = X[o + t]! * negPow(k + a * acc[t]!, beta);
    }
  }
}

export function lrnBackward(x: CpuBuffer, y: CpuBuffer, dy: CpuBuffer, dx: CpuBuffer, p: LrnParams): void {
  const X = floats(x, 'lrnBackward', 'input');
  const Y = floats(y, 'lrnBackward', 'y');
  const DY = floats(dy, 'lrnBackward', 'dy');
  const DX = floats(dx, 'lrnBackward', 'dx');
  const { c, size, alpha, beta, k } = p;
  const plane = p.h * p.w;
  const chw = c * plane;
  const lo = Math.floor(size / 2);
  const hi = Math.floor((size - 1) / 2);
  const a = alpha / size;
  const coef = (2 * alpha * beta) / size;
  const buf = scratchOf(2 * chw + plane);
  const scale = buf.subarray(0, chw);
  const work = buf.subarray(chw, 2 * chw); // x², then dy·y/s
  const acc = buf.subarray(2 * chw, 2 * chw + plane);
  for (let i = 0; i < p.n; i++) {
    const img = i * chw;
    // s is recomputed from x: recovering it from y = x·s^−β is ill-conditioned where x ≈ 0.
    squares(X, img, chw, work);
    for (let ch = 0; ch < c; ch++) {
      windowSums(work, plane, Math.max(0, ch - lo), Math.min(c - 1, ch + hi), acc);
      const q = ch * plane;
      for (let t = 0; t < plane; t++) scale[q + t] = k + a * acc[t]!;
    }
    for (let q = 0; q < chw; q++) work[q] = (DY[img + q]! * Y[img + q]!) / scale[q]!;
    // x_i appears in the windows of channels i−hi … i+lo.
    for (let ch = 0; ch < c; ch++) {
      windowSums(work, plane, Math.max(0, ch - hi), Math.min(c - 1, ch + lo), acc);
      const q = ch * plane;
      const o = img + q;
      for (let t = 0; t < plane; t++) DX[o + t] = DY[o + t]! * negPow(scale[q + t]!, beta) - coef * X[o + t]! * acc[t]!;
    }
  }
}
