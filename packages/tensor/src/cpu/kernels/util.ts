/** Helpers shared by the CPU kernels. */
import { TesseraError } from '../../errors.js';
import type { CpuBuffer } from '../backend.js';

/** Float storage. Kernels are written once over this union and read every element into a JS double. */
export type FloatArray = Float32Array | Float64Array;

/** The buffer's float view, or a TesseraError naming the kernel when it holds int32. */
export function floats(buffer: CpuBuffer, op: string, role = 'input'): FloatArray {
  const d = buffer.data;
  if (d instanceof Int32Array) throw new TesseraError(op, `the ${role} must be float32 or float64, got int32`);
  return d;
}

/** The buffer's int32 view, or a TesseraError naming the kernel. */
export function ints(buffer: CpuBuffer, op: string, role = 'indices'): Int32Array {
  const d = buffer.data;
  if (!(d instanceof Int32Array)) throw new TesseraError(op, `the ${role} must be int32, got ${buffer.dtype}`);
  return d;
}

/**
 * Calls `run(offsets, n)` once per innermost run of a collapsed strided iteration, where offsets[s] is the
 * start of the run in stride set s (beginning at `base[s]`) and the run steps by the innermost strides.
 */
export function forEachRun(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  base: readonly number[],
  run: (offsets: number[], n: number) => void,
): void {
  const rank = shape.length;
  const k = strides.length;
  const offsets = base.slice();
  if (rank <= 1) {
    run(offsets, rank === 0 ? 1 : shape[0]!);
    return;
  }
  for (const extent of shape) if (extent === 0) return;
  const n = shape[rank - 1]!;
  const counter = new Array<number>(rank - 1).fill(0);
  for (;;) {
    run(offsets, n);
    // Odometer over the outer dimensions, updating the offsets incrementally.
    let d = rank - 2;
    for (; d >= 0; d--) {
      const c = counter[d]! + 1;
      if (c < shape[d]!) {
        counter[d] = c;
        for (let s = 0; s < k; s++) offsets[s] = offsets[s]! + strides[s]![d]!;
        break;
      }
      counter[d] = 0;
      for (let s = 0; s < k; s++) offsets[s] = offsets[s]! - strides[s]![d]! * (shape[d]! - 1);
    }
    if (d < 0) return;
  }
}
