/** What the CPU backend's calling thread (threads.ts) and its workers (worker.ts, worker-web.ts) agree on. */
import type { MessagePort } from 'node:worker_threads';

/** ctrl layout: pending count, error flag, then one state per worker (0 booting, 1 ready, −1 unusable). */
export const PENDING = 0;
export const ERROR = 1;
export const STATE = 2;

/** workerData of a Node worker thread. */
export interface WorkerInit {
  ctrl: Int32Array;
  /** Where the worker posts the stack of a failed slice, read synchronously with receiveMessageOnPort. */
  errors: MessagePort;
  index: number;
  /** The GEMM micro-kernel's WebAssembly bytes, or null for the portable JS one. */
  wasm: Uint8Array | null;
}

/** The first message to a browser worker. */
export interface WebWorkerInit {
  ctrl: Int32Array;
  /** ERROR_BYTES per worker: a byte length (Int32) then that many bytes of UTF-8. */
  errors: SharedArrayBuffer;
  index: number;
  wasm: Uint8Array | null;
}

/** Bytes of the shared error buffer each browser worker writes its last failure into. */
export const ERROR_BYTES = 4096;

export function writeError(errors: SharedArrayBuffer, index: number, message: string): void {
  const bytes = new TextEncoder().encode(message).subarray(0, ERROR_BYTES - 4);
  new Uint8Array(errors, index * ERROR_BYTES + 4, bytes.length).set(bytes);
  new Int32Array(errors, index * ERROR_BYTES, 1)[0] = bytes.length;
}

/** Takes (and clears) the failure a browser worker wrote, or '' when there is none. */
export function takeError(errors: SharedArrayBuffer, index: number): string {
  const length = new Int32Array(errors, index * ERROR_BYTES, 1);
  const n = length[0]!;
  if (n <= 0) return '';
  length[0] = 0;
  // TextDecoder refuses views on shared memory: copy first.
  return new TextDecoder().decode(new Uint8Array(errors, index * ERROR_BYTES + 4, n).slice());
}

/** A typed array as a task argument: a view on a SharedArrayBuffer the worker already holds. */
export interface SharedView {
  sab: number;
  /** 0 Float32Array, 1 Float64Array, 2 Int32Array. */
  type: number;
  offset: number;
  length: number;
}
