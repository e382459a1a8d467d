/** Max, average and adaptive average 2-D pooling and their backward kernels, one (n, c) plane at a time. */
import type { AdaptivePool2dParams, AvgPool2dParams, Pool2dParams } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { floats, ints } from './util.js';

export function maxPool2d(x: CpuBuffer, y: CpuBuffer, argmax: CpuBuffer, p: Pool2dParams): void {
  const X = floats(x, 'maxPool2d', 'input');
  const Y = floats(y, 'maxPool2d', 'output');
  const A = ints(argmax, 'maxPool2d', 'argmax');
  const { n, c, h, w, kh, kw, outH, outW, strideH, strideW, padH, padW } = p;
  const planes = n * c;
  const plane = h * w;
  let o = 0;
  for (let q = 0; q < planes; q++) {
    const base = q * plane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      const r0 = Math.max(0, h0);
      const r1 = Math.min(h, h0 + kh);
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        const c0 = Math.max(0, w0);
        const c1 = Math.min(w, w0 + kw);
        let best = -Infinity;
        let arg = -1;
        if (r0 < r1 && c0 < c1) {
          // Start from the window's first cell; then one test per cell: !(v <= best) is v > best or v NaN.
          // The first maximum wins; the first NaN ends the search (PyTorch propagates NaN).
          arg = r0 * w + c0;
          best = X[base + arg]!;
          if (best === best) {
            scan: for (let r = r0; r < r1; r++) {
              const row = base + r * w;
              for (let col = r === r0 ? c0 + 1 : c0; col < c1; col++) {
                const v = X[row + col]!;
                if (!(v <= best)) {
                  best = v;
                  arg = r * w + col;
                  if (v !== v) break scan;
                }
              }
            }
          }
        }
        Y[o] = best;
        A[o] = arg;
      }
    }
  }
}

export function maxPool2dBackward(dy: CpuBuffer, argmax: CpuBuffer, dx: CpuBuffer, p: Pool2dParams): void {
  const DY = floats(dy, 'maxPool2dBackward', 'dy');
  const A = ints(argmax, 'maxPool2dBackward', 'argmax');
  const DX = floats(dx, 'maxPool2dBackward', 'dx');
  const planes = p.n * p.c;
  const plane = p.h * p.w;
  const outPlane = p.outH * p.outW;
  // Overlapping windows (stride < kernel) may route several gradients to one input: sum them in float64.
  const acc = new Float64Array(plane);
  for (let q = 0; q < planes; q++) {
    acc.fill(0);
    const ob = q * outPlane;
    for (let t = 0; t < outPlane; t++) {
      const a = A[ob + t]!;
      if (a >= 0) acc[a] = acc[a]! + DY[ob + t]!;
    }
    DX.set(acc, q * plane);
  }
}

/** Divisor of the window at (h0, w0): kh·kw, or only the cells inside the input. */
function avgDivisor(p: AvgPool2dParams, h0: number, w0: number): number {
  if (p.countIncludePad) return p.kh * p.kw;
  const rows = Math.min(p.h, h0 + p.kh) - Math.max(0, h0);
  const cols = Math.min(p.w, w0 + p.kw) - Math.max(0, w0);
  return Math.max(0, rows) * Math.max(0, cols);
}

export function avgPool2d(x: CpuBuffer, y: CpuBuffer, p: AvgPool2dParams): void {
  const X = floats(x, 'avgPool2d', 'input');
  const Y = floats(y, 'avgPool2d', 'output');
  const { n, c, h, w, kh, kw, outH, outW, strideH, strideW, padH, padW } = p;
  const planes = n * c;
  const plane = h * w;
  let o = 0;
  for (let q = 0; q < planes; q++) {
    const base = q * plane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      const r0 = Math.max(0, h0);
      const r1 = Math.min(h, h0 + kh);
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        const c0 = Math.max(0, w0);
        const c1 = Math.min(w, w0 + kw);
        let sum = 0;
        for (let r = r0; r < r1; r++) {
          const row = base + r * w;
          for (let col = c0; col < c1; col++) sum += X[row + col]!;
        }
        const div = avgDivisor(p, h0, w0);
        // A window wholly in the padding averages nothing; 0 rather than 0/0.
        Y[o] = div > 0 ? sum / div : 0;
      }
    }
  }
}

export function avgPool2dBackward(dy: CpuBuffer, dx: CpuBuffer, p: AvgPool2dParams): void {
  const DY = floats(dy, 'avgPool2dBackward', 'dy');
  const DX = floats(dx, 'avgPool2dBackward', 'dx');
  const { n, c, h, w, kh, kw, outH, outW, strideH, strideW, padH, padW } = p;
  const planes = n * c;
  const plane = h * w;
  const acc = new Float64Array(plane);
  let o = 0;
  for (let q = 0; q < planes; q++) {
    acc.fill(0);
    for (let oh = 0; oh < outH; oh++) {
      const h0 = oh * strideH - padH;
      const r0 = Math.max(0, h0);
      const r1 = Math.min(h, h0 + kh);
      for (let ow = 0; ow < outW; ow++, o++) {
        const w0 = ow * strideW - padW;
        const c0 = Math.max(0, w0);
        const c1 = Math.min(w, w0 + kw);
        const div = avgDivisor(p, h0, w0);
        if (div === 0) continue;
        const g = DY[o]! / div;
        for (let r = r0; r < r1; r++) {
          const row = r * w;
          for (let col = c0; col < c1; col++) acc[row + col] = acc[row + col]! + g;
        }
      }
    }
    DX.set(acc, q * plane);
  }
}

/** Start and end (exclusive) of adaptive bin i of `out` bins over `size` cells. */
function bin(i: number, size: number, out: number): [number, number] {
  return [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)];
}

export function adaptiveAvgPool2d(x: CpuBuffer, y: CpuBuffer, p: AdaptivePool2dParams): void {
  const X = floats(x, 'adaptiveAvgPool2d', 'input');
  const Y = floats(y, 'adaptiveAvgPool2d', 'output');
  const { n, c, h, w, outH, outW } = p;
  const planes = n * c;
  const plane = h * w;
  let o = 0;
  for (let q = 0; q < planes; q++) {
    const base = q * plane;
    for (let oh = 0; oh < outH; oh++) {
      const [r0, r1] = bin(oh, h, outH);
      for (let ow = 0; ow < outW; ow++, o++) {
        const [c0, c1] = bin(ow, w, outW);
        let sum = 0;
        for (let r = r0; r < r1; r++) {
          const row = base + r * w;
          for (let col = c0; col < c1; col++) sum += X[row + col]!;
        }
        const count = (r1 - r0) * (c1 - c0);
        Y[o] = count > 0 ? sum / count : 0;
      }
    }
  }
}

export function adaptiveAvgPool2dBackward(dy: CpuBuffer, dx: CpuBuffer, p: AdaptivePool2dParams): void {
  const DY = floats(dy, 'adaptiveAvgPool2dBackward', 'dy');
  const DX = floats(dx, 'adaptiveAvgPool2dBackward', 'dx');
  const { n, c, h, w, outH, outW } = p;
  const planes = n * c;
  const plane = h * w;
  const acc = new Float64Array(plane);
  let o = 0;
  for (let q = 0; q < planes; q++) {
    acc.fill(0);
    for (let oh = 0; oh < outH; oh++) {
      const [r0, r1] = bin(oh, h, outH);
      for (let ow = 0; ow < outW; ow++, o++) {
        const [c0, c1] = bin(ow, w, outW);
        const count = (r1 - r0) * (c1 - c0);
        if (count === 0) continue;
        const g = DY[o]! / count;
        for (let r = r0; r < r1; r++) {
          const row = r * w;
          for (let col = c0; col < c1; col++) acc[row + col] = acc[row + col]! + g;
        }
      }
    }
    DX.set(acc, q * plane);
  }
}
