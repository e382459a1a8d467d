/** Splitting per-image (or per-row) work into chunks whose operand windows each fit one storage binding. */
import { TesseraError } from '@tessera/tensor';
import type { GpuBuffer, Runtime, Window } from '../runtime.js';

export interface PerItemOperand {
  buffer: GpuBuffer;
  /** Elements per item (image or row). */
  elems: number;
  role: string;
}

/**
 * Ranges [i0, i1) of `count` items such that every operand's window over them fits one binding (operands
 * that fit whole are bound whole) and a chunk holds at most `maxPerChunk` items.
 */
export function leadingChunks(rt: Runtime, op: string, count: number, operands: readonly PerItemOperand[], maxPerChunk = Infinity): [number, number][] {
  let per = Math.min(count, maxPerChunk);
  for (const o of operands) {
    if (o.buffer.size * 4 <= rt.limits.maxStorageBufferBindingSize) continue;
    const fit = Math.floor((rt.limits.maxStorageBufferBindingSize - rt.limits.minStorageBufferOffsetAlignment) / 4 / Math.max(1, o.elems));
    if (fit < 1) {
      throw new TesseraError(
        op,
        `one slice of the ${o.role} (${o.elems * 4} bytes) is larger than this device's maxStorageBufferBindingSize of ${rt.limits.maxStorageBufferBindingSize} bytes`,
      );
    }
    per = Math.min(per, fit);
  }
  if (!(per >= 1)) throw new TesseraError(op, `cannot split ${count} items to fit this device's dispatch limits`);
  const out: [number, number][] = [];
  for (let i0 = 0; i0 < count; i0 += per) out.push([i0, Math.min(count, i0 + per)]);
  return out;
}

/** The buffer whole when it fits a binding, else the window of elements [lo, hi). */
export function bindRange(rt: Runtime, buffer: GpuBuffer, lo: number, hi: number, op: string, role: string): Window {
  return buffer.size * 4 <= rt.limits.maxStorageBufferBindingSize ? rt.whole(buffer, op, role) : rt.window(buffer, lo, hi);
}
