/** Index selection along one axis, its adjoint, and one-hot encoding; indices are validated here. */
import type { GatherParams } from '../../backend/kernels.js';
import { TesseraError } from '../../errors.js';
import type { CpuBuffer } from '../backend.js';
import { floats, ints } from './util.js';

function checkIndices(op: string, I: Int32Array, count: number, size: number): void {
  for (let t = 0; t < count; t++) {
    const v = I[t]!;
    if (v < 0 || v >= size) throw new TesseraError(op, `index ${v} at position ${t} is outside [0, ${size})`);
  }
}

export function gather(x: CpuBuffer, indices: CpuBuffer, out: CpuBuffer, p: GatherParams): void {
  const I = ints(indices, 'gather');
  const { outer, axisSize, inner, count } = p;
  checkIndices('gather', I, count, axisSize);
  const X = x.data;
  const O = out.data;
  for (let o = 0; o < outer; o++) {
    const xBase = o * axisSize * inner;
    const oBase = o * count * inner;
    for (let t = 0; t < count; t++) {
      const src = xBase + I[t]! * inner;
      const dst = oBase + t * inner;
      if (inner === 1) O[dst] = X[src]!;
      else if (x.dtype === out.dtype && inner >= 32) O.set(X.subarray(src, src + inner), dst);
      else for (let j = 0; j < inner; j++) O[dst + j] = X[src + j]!;
    }
  }
}

export function gatherBackward(dy: CpuBuffer, indices: CpuBuffer, dx: CpuBuffer, p: GatherParams): void {
  const I = ints(indices, 'gatherBackward');
  const DY = floats(dy, 'gatherBackward', 'dy');
  const DX = floats(dx, 'gatherBackward', 'dx');
  const { outer, axisSize, inner, count } = p;
  checkIndices('gatherBackward', I, count, axisSize);
  // Repeated indices add up: accumulate in float64, round once.
  const acc = new Float64Array(outer * axisSize * inner);
  for (let o = 0; o < outer; o++) {
    const xBase = o * axisSize * inner;
    const yBase = o * count * inner;
    for (let t = 0; t < count; t++) {
      const dst = xBase + I[t]! * inner;
      const src = yBase + t * inner;
      for (let j = 0; j < inner; j++) acc[dst + j] = acc[dst + j]! + DY[src + j]!;
    }
  }
  DX.set(acc);
}

export function oneHot(indices: CpuBuffer, out: CpuBuffer, p: { n: number; depth: number }): void {
  const I = ints(indices, 'oneHot');
  const O = floats(out, 'oneHot', 'output');
  checkIndices('oneHot', I, p.n, p.depth);
  O.fill(0, 0, p.n * p.depth);
  for (let t = 0; t < p.n; t++) O[t * p.depth + I[t]!] = 1;
}
