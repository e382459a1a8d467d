/** What the CPU backend's calling thread (threads.ts) and its workers (worker.ts) agree on. */
import type { MessagePort } from 'node:worker_threads';

/** ctrl layout: pending count, error flag, then one state per worker (0 booting, 1 ready, −1 unusable). */
export const PENDING = 0;
export const ERROR = 1;
export const STATE = 2;

export interface WorkerInit {
  ctrl: Int32Array;
  /** Where the worker posts the stack of a failed slice, read synchronously with receiveMessageOnPort. */
  errors: MessagePort;
  index: number;
  /** The GEMM micro-kernel's WebAssembly bytes, or null for the portable JS one. */
  wasm: Uint8Array | null;
}

/** A typed array as a task argument: a view on a SharedArrayBuffer the worker already holds. */
export interface SharedView {
  sab: number;
  /** 0 Float32Array, 1 Float64Array, 2 Int32Array. */
  type: number;
  offset: number;
  length: number;
}
