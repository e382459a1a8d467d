/**
 * Local response normalisation across channels (see LrnParams): with lo = ⌊size/2⌋, hi = ⌊(size−1)/2⌋,
 * s_c = k + α/size · Σ_{j=c−lo}^{c+hi} x_j² and y_c = x_c · s_c^−β, per (image, pixel).
 *
 * Backward, from ∂s_j/∂x_i = 2α/size · x_i for every j whose window holds i (i.e. i−hi ≤ j ≤ i+lo):
 *   dx_i = dy_i · s_i^−β − (2αβ/size) · x_i · Σ_{j=i−hi}^{i+lo} dy_j · y_j / s_j.
 */
import type { LrnParams } from '../../../backend/kernels.js';
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
 * Σ_{j=j0}^{j1} v[j·plane + t]: a direct window sum (size is small, typically 5), exact unlike a running
 * add/subtract, reading `size` sequential streams as t advances.
 */
function windowSum(v: Float64Array, plane: number, j0: number, j1: number, t: number): number {
  let s = 0;
  for (let q = j0 * plane + t, end = j1 * plane + t; q <= end; q += plane) s += v[q]!;
  return s;
}

/** s^−β, with the common β = 0.75 as two square roots instead of Math.pow. */
function negPow(s: number, beta: number): number {
  if (beta === 0.75) {
    const r = Math.sqrt(s);
    return 1 / (r * Math.sqrt(r));
  }
  return Math.pow(s, -beta);
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
  const sq = new Float64Array(chw);
  for (let i = 0; i < p.n; i++) {
    const img = i * chw;
    squares(X, img, chw, sq);
    for (let ch = 0, o = img; ch < c; ch++) {
      const j0 = Math.max(0, ch - lo);
      const j1 = Math.min(c - 1, ch + hi);
      for (let t = 0; t < plane; t++, o++) Y[o] = X[o]! * negPow(k + a * windowSum(sq, plane, j0, j1, t), beta);
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
  const scale = new Float64Array(chw);
  const work = new Float64Array(chw); // x², then dy·y/s
  for (let i = 0; i < p.n; i++) {
    const img = i * chw;
    // s is recomputed from x: recovering it from y = x·s^−β is ill-conditioned where x ≈ 0.
    squares(X, img, chw, work);
    for (let ch = 0, q = 0; ch < c; ch++) {
      const j0 = Math.max(0, ch - lo);
      const j1 = Math.min(c - 1, ch + hi);
      for (let t = 0; t < plane; t++, q++) scale[q] = k + a * windowSum(work, plane, j0, j1, t);
    }
    for (let q = 0; q < chw; q++) work[q] = (DY[img + q]! * Y[img + q]!) / scale[q]!;
    // x_i appears in the windows of channels i−hi … i+lo.
    for (let ch = 0, q = 0; ch < c; ch++) {
      const j0 = Math.max(0, ch - hi);
      const j1 = Math.min(c - 1, ch + lo);
      for (let t = 0; t < plane; t++, q++) {
        const o = img + q;
        DX[o] = DY[o]! * negPow(scale[q]!, beta) - coef * X[o]! * windowSum(work, plane, j0, j1, t);
      }
    }
  }
}
