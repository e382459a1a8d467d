/**
 * Planning of strided (elementwise, copy) work: dimensions are collapsed first (size-1 dims dropped,
 * neighbours contiguous in every operand merged), then the index box is split until every operand's touched
 * range fits one storage binding and at most MAX_RANK dimensions remain. Each piece is dispatched as the
 * same kernel with offsets relative to its binding windows.
 */
import { collapseDims } from '@tessera/tensor/backend';
import type { GpuBuffer, Runtime, Window } from '../runtime.js';

/** Dimensions a strided kernel handles in one dispatch (more are looped on the host). */
export const MAX_RANK = 6;

export interface StridedOperand {
  buffer: GpuBuffer;
  strides: readonly number[];
  offset: number;
  role: string;
}

export interface StridedPiece {
  /** Extents (rank ≤ MAX_RANK, no size-1 dims except a lone [1] for one element). */
  shape: number[];
  /** Per operand: strides over `shape`. */
  strides: number[][];
  /** Per operand: element offset of the piece's first element, relative to its window. */
  offsets: number[];
  windows: Window[];
}

/**
 * Splits the strided iteration of `shape` over `operands` into pieces a kernel can dispatch. All strides
 * must be non-negative (the core never produces negative ones).
 */
export function planStrided(
  rt: Runtime,
  op: string,
  shapeIn: readonly number[],
  operands: readonly StridedOperand[],
  emit: (piece: StridedPiece) => void,
): void {
  if (shapeIn.some((d) => d === 0)) return;
  const c = collapseDims(
    shapeIn,
    operands.map((o) => o.strides),
  );
  const shape = c.shape;
  const strides = c.strides;
  const wholeFits = operands.every((o) => o.buffer.size * 4 <= rt.limits.maxStorageBufferBindingSize);
  if (wholeFits && shape.length <= MAX_RANK) {
    emit({
      shape: shape.length === 0 ? [1] : shape,
      strides: shape.length === 0 ? strides.map(() => [1]) : strides,
      offsets: operands.map((o) => o.offset),
      windows: operands.map((o) => rt.whole(o.buffer, op, o.role)),
    });
    return;
  }
  const rank = shape.length;
  const lo = new Array<number>(rank).fill(0);
  const hi = shape.slice();
  const visit = (): void => {
    // Spans touched by the box [lo, hi) in each operand.
    const spans = operands.map((o, s) => {
      let a = o.offset;
      let b = o.offset;
      for (let d = 0; d < rank; d++) {
        a += lo[d]! * strides[s]![d]!;
        b += (hi[d]! - 1) * strides[s]![d]!;
      }
      return [a, b + 1] as const;
    });
    const live: number[] = [];
    for (let d = 0; d < rank; d++) if (hi[d]! - lo[d]! > 1) live.push(d);
    const fits = spans.every(([a, b]) => rt.windowFits(a, b));
    if (fits && live.length <= MAX_RANK) {
      const windows = operands.map((o, s) => rt.window(o.buffer, spans[s]![0], spans[s]![1]));
      emit({
        shape: live.length === 0 ? [1] : live.map((d) => hi[d]! - lo[d]!),
        strides: strides.map((st) => (live.length === 0 ? [1] : live.map((d) => st[d]!))),
        offsets: spans.map(([a], s) => a - windows[s]!.base),
        windows,
      });
      return;
    }
    if (live.length === 0) throw new Error(`internal: ${op} cannot bind a single element`);
    // Split the outermost live dimension: in halves when a window is too large, fully when rank is the issue.
    const d = live[0]!;
    const a = lo[d]!;
    const b = hi[d]!;
    if (fits) {
      for (let t = a; t < b; t++) {
        lo[d] = t;
        hi[d] = t + 1;
        visit();
      }
    } else {
      const mid = a + Math.floor((b - a) / 2);
      hi[d] = mid;
      visit();
      lo[d] = mid;
      hi[d] = b;
      visit();
    }
    lo[d] = a;
    hi[d] = b;
  };
  visit();
}
