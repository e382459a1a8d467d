/**
 * Entry module of the CPU backend's workers in browsers: a module Web Worker started by threads.ts from a
 * dedicated worker (blocking waits are not allowed on a page's main thread) in a cross-origin isolated page.
 * Its first message is the WebWorkerInit; a failed slice's stack goes into this worker's region of the shared
 * error buffer, which the calling thread reads synchronously.
 */
import { workerLoop, type WorkerLoop } from './worker-core.js';
import { writeError, type WebWorkerInit } from './worker-protocol.js';

const scope = globalThis as unknown as { onmessage: ((e: { data: unknown }) => void) | null };
let loop: WorkerLoop | null = null;
scope.onmessage = (e) => {
  if (loop) return loop.handle(e.data as [string, ...unknown[]]);
  const { ctrl, index, wasm, errors } = (e.data as { init: WebWorkerInit }).init;
  loop = workerLoop({ ctrl, index, wasm, report: (message) => writeError(errors, index, message) });
  loop.boot();
};
