/**
 * Entry module of the CPU backend's worker threads in Node (see threads.ts; browsers use worker-web.ts).
 * threads.ts finds this file through `new URL('./worker.js', import.meta.url)`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { workerLoop } from './worker-core.js';
import type { WorkerInit } from './worker-protocol.js';

const { ctrl, errors, index, wasm } = workerData as WorkerInit;
const loop = workerLoop({ ctrl, index, wasm, report: (message) => errors.postMessage(message) });
parentPort!.on('message', loop.handle);
loop.boot();
