/** What the kernels need from their backend beyond buffers: the (possibly parallel) GEMM and scratch memory. */
import type { GemmFn } from './matmul.js';
import type { FloatArray } from './util.js';

export interface CpuRuntime {
  /** GEMM that may split the work across worker threads; its operands must then live in shared memory. */
  gemm: GemmFn;
  /** A reusable float64 scratch array of at least `size` elements (contents undefined); `slot` separates users. */
  scratch64(slot: number, size: number): Float64Array;
  /** Like scratch64, in `like`'s element type. */
  scratchLike(slot: number, size: number, like: FloatArray): FloatArray;
}
