/** What the kernels need from their backend beyond buffers: GEMMs, scratch memory and worker threads. */
import type { GemmFn } from './matmul.js';
import type { FloatArray } from './util.js';

/** A task for a worker: the name of a worker function (see ../threads.ts) and its arguments. */
export type WorkerTask = [name: string, ...args: unknown[]];

export interface CpuRuntime {
  /** GEMM that splits large products across the ready worker threads. */
  gemm: GemmFn;
  /** GEMM on the calling thread only (for work that is already split across threads). */
  serialGemm: GemmFn;
  /** A reusable float64 scratch array of at least `size` elements (contents undefined); `slot` separates users. */
  scratch64(slot: number, size: number): Float64Array;
  /** Like scratch64, in `like`'s element type. */
  scratchLike(slot: number, size: number, like: FloatArray): FloatArray;
  /** Worker threads ready to take a task now; 0 when single-threaded. */
  workers(): number;
  /** Whether workers can see the array (it lives in a SharedArrayBuffer). */
  isShared(a: FloatArray): boolean;
  /** Multiply-adds below which splitting work across threads does not pay. */
  parallelMinMacs: number;
  /**
   * Runs remote[i] on worker i and `local` on this thread, returning when all are done; remote.length must not
   * exceed workers(), and every typed array argument must be shared.
   */
  fork(remote: WorkerTask[], local: () => void): void;
}
