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

/** s for one image: scale[c·plane + t], from squares summed plane by plane over each channel window. */
function lrnScale(X: FloatArray, img: number, p: LrnParams, scale: Float64Array, sq: Float64Array): void {
  const { c, size, alpha, k } = p;
  const plane = p.h * p.w;
  const lo = Math.floor(size / 2);
  const hi = Math.floor((size - 1) / 2);
  for (let t = 0, len = c * plane; t < len; t++) {
    const v = X[img + t]!;
    sq[t] = v * v;
  }
  const a = alpha / size;
  for (let ch = 0; ch < c; ch++) {
    const o = ch * plane;
    scale.fill(0, o, o + plane);
    // Direct window sums (size is small, typically 5): exact, unlike a running add/subtract.
    for (let j = Math.max(0, ch - lo), end = Math.min(c - 1, ch + hi); j <= end; j++) {
      const src = j * plane;
      for (let t = 0; t < plane; t++) scale[o + t] = scale[o + t]! + sq[src + t]!;
    }
    for (let t = 0; t < plane; t++) scale[o + t] = k + a * scale[o + t]!;
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

export function lrn(x: CpuBuffer, y: CpuBuffer, p: LrnParams): void {
  const X = floats(x, 'lrn', 'input');
  const Y = floats(y, 'lrn', 'output');
  const chw = p.c * p.h * p.w;
  const scale = new Float64Array(chw);
  const sq = new Float64Array(chw);
  for (let i = 0; i < p.n; i++) {
    const img = i * chw;
    lrnScale(X, img, p, scale, sq);
    for (let t = 0; t < chw; t++) Y[img + t] = X[img + t]! * negPow(scale[t]!, p.beta);
  }
}

export function lrnBackward(x: CpuBuffer, y: CpuBuffer, dy: CpuBuffer, dx: CpuBuffer, p: LrnParams): void {
  const X = floats(x, 'lrnBackward', 'input');
  const Y = floats(y, 'lrnBackward', 'y');
  const DY = floats(dy, 'lrnBackward', 'dy');
  const DX = floats(dx, 'lrnBackward', 'dx');
  const { c, size, alpha, beta } = p;
  const plane = p.h * p.w;
  const chw = c * plane;
  const lo = Math.floor(size / 2);
  const hi = Math.floor((size - 1) / 2);
  const scale = new Float64Array(chw);
  const ratio = new Float64Array(chw); // dy_j · y_j / s_j
  const sum = new Float64Array(plane);
  const coef = (2 * alpha * beta) / size;
  for (let i = 0; i < p.n; i++) {
    const img = i * chw;
    // s is recomputed from x: recovering it from y = x·s^−β is ill-conditioned where x ≈ 0.
    lrnScale(X, img, p, scale, ratio);
    for (let t = 0; t < chw; t++) ratio[t] = (DY[img + t]! * Y[img + t]!) / scale[t]!;
    for (let ch = 0; ch < c; ch++) {
      sum.fill(0);
      for (let j = Math.max(0, ch - hi), end = Math.min(c - 1, ch + lo); j <= end; j++) {
        const src = j * plane;
        for (let t = 0; t < plane; t++) sum[t] = sum[t]! + ratio[src + t]!;
      }
      const o = ch * plane;
      for (let t = 0; t < plane; t++) {
        const xi = X[img + o + t]!;
        DX[img + o + t] = DY[img + o + t]! * negPow(scale[o + t]!, beta) - coef * xi * sum[t]!;
      }
    }
  }
}
