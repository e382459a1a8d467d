/**
 * A persistent pool of worker threads that GEMMs and convolutions are split across, keeping kernels
 * synchronous: the calling thread posts one slice to each ready worker, computes its own slice, then blocks
 * in Atomics.wait until the workers have finished. Operands live in SharedArrayBuffers, so nothing is copied.
 *
 * Workers run the very same functions as the calling thread, rebuilt from their source text (GEMM_SOURCES,
 * CONV_SOURCES), so there is no separate worker file to resolve or bundle. A worker only receives work after
 * it has booted and passed a self-test; until then, or when threads are unavailable (browsers, no
 * worker_threads), everything runs on the calling thread. Workers are unref'd: they never keep a process
 * alive.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { TesseraError } from '../errors.js';
import type { WorkerTask } from './kernels/runtime.js';
import { CONV_SOURCES } from './kernels/conv.js';
import { GEMM_SOURCES } from './kernels/matmul.js';

type WorkerThreads = typeof import('node:worker_threads');

/** ctrl layout: pending count, error flag, then one state per worker (0 booting, 1 ready, −1 unusable). */
const PENDING = 0;
const ERROR = 1;
const STATE = 2;

const WORKER_MAIN = `
const { parentPort, workerData } = require('node:worker_threads');
const { ctrl, errors, index, wasm } = workerData;
const scratch = createGemmScratch(wasm);
// Refuse work unless the rebuilt functions compute a known product (e.g. if instrumentation broke them).
function selfTest() {
  const m = 6, n = 7, k = 5;
  const A = new Float32Array(m * k).map((_, i) => (i % 7) - 3);
  const B = new Float64Array(k * n).map((_, i) => (i % 5) - 2);
  const C = new Float32Array(m * n);
  gemm(m, n, k, A, 0, k, 1, B, 0, n, 1, C, 0, n, 0, scratch);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < k; q++) s += A[i * k + q] * B[q * n + j];
    if (C[i * n + j] !== s) return false;
  }
  return true;
}
const mm = (...args) => gemm(...args, scratch);
const TASKS = {
  gemm: mm,
  convForwardRange: (...args) => convForwardRange(...args, mm),
  convBackwardInputRange: (...args) => convBackwardInputRange(...args, mm),
  convBackwardFilterRange: (...args) => convBackwardFilterRange(...args, mm),
};
// Shared memory arrives once per SharedArrayBuffer ('share'); tasks then name it by id. Posting the buffers
// with every task made each postMessage slower as un-collected clones piled up in this thread.
const shared = new Map();
const ARRAYS = [Float32Array, Float64Array, Int32Array];
const decode = (a) => (a !== null && typeof a === 'object' && a.sab !== undefined ? new ARRAYS[a.type](shared.get(a.sab), a.offset, a.length) : a);
parentPort.on('message', ([name, ...args]) => {
  if (name === 'share') return void shared.set(args[0], args[1]);
  if (name === 'forget') return void (args.length ? shared.delete(args[0]) : shared.clear());
  try {
    TASKS[name](...args.map(decode));
  } catch (e) {
    Atomics.store(ctrl, ${ERROR}, 1);
    errors.postMessage(String((e && e.stack) || e));
  } finally {
    Atomics.sub(ctrl, ${PENDING}, 1);
    Atomics.notify(ctrl, ${PENDING});
  }
});
// V8 first runs WebAssembly through its baseline compiler and only switches to optimised code once a
// function has run for a while; until then this worker would be ~3x slower than a warm caller, which
// then waits for it. A few milliseconds of GEMMs before joining trigger the switch.
function warmUp() {
  const n = 64, k = 256;
  const A = new Float32Array(n * k).fill(1);
  const C = new Float32Array(n * n);
  const start = Date.now();
  do gemm(n, n, k, A, 0, k, 1, A, 0, n, 1, C, 0, n, 0, scratch);
  while (Date.now() - start < 30);
}
let ok = false;
try {
  ok = selfTest();
  if (ok) warmUp();
} catch {}
Atomics.store(ctrl, ${STATE} + index, ok ? 1 : -1);
`;

function workerSource(): string {
  return [...GEMM_SOURCES, ...CONV_SOURCES].map((f) => f.toString()).join('\n') + WORKER_MAIN;
}

function loadWorkerThreads(): WorkerThreads | null {
  try {
    if (typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return null;
    return process.getBuiltinModule('node:worker_threads');
  } catch {
    return null;
  }
}

/** Whether this runtime can share memory with worker threads at all. */
export function threadsSupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && loadWorkerThreads() !== null;
}

interface Slot {
  worker: Worker;
  /** Where the worker posts the stack of a failed slice, read synchronously with receiveMessageOnPort. */
  errors: MessagePort;
  index: number;
  /** Ids of the SharedArrayBuffers this worker holds. */
  known: Set<number>;
}

/** A typed array as a task argument: a view on a SharedArrayBuffer the worker already holds. */
interface SharedView {
  sab: number;
  type: number;
  offset: number;
  length: number;
}

export class ThreadPool {
  private readonly wt: WorkerThreads;
  private readonly slots: Slot[] = [];
  private readonly ctrl: Int32Array;
  private broken = false;
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private nextId = 1;

  /** Starts `count` workers (they boot asynchronously and join once ready), or null when threads are unavailable. */
  static create(count: number, wasm: Uint8Array | null): ThreadPool | null {
    const wt = loadWorkerThreads();
    if (!wt || count < 1 || !threadsSupported()) return null;
    try {
      return new ThreadPool(wt, count, wasm);
    } catch {
      return null;
    }
  }

  private constructor(wt: WorkerThreads, count: number, wasm: Uint8Array | null) {
    this.wt = wt;
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (STATE + count)));
    const source = workerSource();
    for (let index = 0; index < count; index++) {
      const channel = new wt.MessageChannel();
      let worker: Worker;
      try {
        worker = new wt.Worker(source, {
          eval: true,
          workerData: { ctrl: this.ctrl, errors: channel.port2, index, wasm },
          transferList: [channel.port2],
        });
      } catch {
        channel.port1.close();
        continue;
      }
      worker.unref();
      channel.port1.unref();
      const unusable = (): void => {
        Atomics.store(this.ctrl, STATE + index, -1);
      };
      worker.on('error', unusable);
      worker.on('exit', unusable);
      this.slots.push({ worker, errors: channel.port1, index, known: new Set() });
    }
  }

  /** Workers booted, self-tested and ready for work now. */
  ready(): Slot[] {
    if (this.broken) return [];
    return this.slots.filter((s) => Atomics.load(this.ctrl, STATE + s.index) === 1);
  }

  /**
   * Posts remote[i] ([task name, ...arguments], typed arrays on SharedArrayBuffers) to slots[i], runs `local`
   * on this thread, and returns once all are done. Throws a TesseraError if a worker failed.
   */
  run(slots: Slot[], remote: WorkerTask[], local: () => void): void {
    const ctrl = this.ctrl;
    // Encode everything first: nothing may be posted if an argument is unusable.
    const messages = remote.map((task, i) => task.map((a) => this.encode(slots[i]!, a)));
    Atomics.store(ctrl, ERROR, 0);
    Atomics.store(ctrl, PENDING, remote.length);
    for (let i = 0; i < remote.length; i++) slots[i]!.worker.postMessage(messages[i]);
    const start = performance.now();
    let localError: unknown = null;
    try {
      local();
    } catch (e) {
      localError = e;
    }
    // Never return while a worker may still write into the outputs. Workers compute slices the size of
    // ours; allow for heavy oversubscription before declaring one lost (e.g. killed by the OS).
    const limit = 60_000 + 50 * (performance.now() - start);
    const waitStart = performance.now();
    for (;;) {
      const pending = Atomics.load(ctrl, PENDING);
      if (pending === 0) break;
      if (Atomics.wait(ctrl, PENDING, pending, 1000) === 'timed-out' && performance.now() - waitStart > limit) {
        this.dispose();
        throw new TesseraError(
          'cpu',
          `a worker thread did not finish its task within ${Math.round(limit / 1000)} s; the CPU backend continues single-threaded`,
        );
      }
    }
    if (localError !== null) throw localError;
    if (Atomics.load(ctrl, ERROR) !== 0) {
      const messages: string[] = [];
      for (const s of slots) {
        for (let m = this.wt.receiveMessageOnPort(s.errors); m; m = this.wt.receiveMessageOnPort(s.errors)) messages.push(String(m.message));
      }
      throw new TesseraError('cpu', `a worker thread failed: ${messages.join('; ') || 'unknown error'}`);
    }
  }

  /**
   * Replaces a typed array on shared memory by a SharedView; a buffer new to the worker is posted to it first
   * (ahead of the task, on the same port, so it arrives first).
   */
  private encode(slot: Slot, value: unknown): unknown {
    if (!(value instanceof Float32Array || value instanceof Float64Array || value instanceof Int32Array)) return value;
    const sab = value.buffer;
    if (!(sab instanceof SharedArrayBuffer)) throw new TesseraError('cpu', 'worker tasks need their arrays in shared memory');
    let id = this.ids.get(sab);
    if (id === undefined) this.ids.set(sab, (id = this.nextId++));
    if (!slot.known.has(id)) {
      slot.worker.postMessage(['share', id, sab]);
      slot.known.add(id);
    }
    const type = value instanceof Float32Array ? 0 : value instanceof Float64Array ? 1 : 2;
    const view: SharedView = { sab: id, type, offset: value.byteOffset, length: value.length };
    return view;
  }

  /** Makes the workers drop their references to `sab` (all shared memory when omitted), e.g. once it is freed. */
  forget(sab?: SharedArrayBuffer): void {
    const id = sab ? this.ids.get(sab) : undefined;
    if (sab && id === undefined) return;
    for (const slot of this.slots) {
      if (id === undefined) {
        if (slot.known.size > 0) slot.worker.postMessage(['forget']);
        slot.known.clear();
      } else if (slot.known.delete(id)) slot.worker.postMessage(['forget', id]);
    }
  }

  /** Workers still booting. */
  booting(): number {
    if (this.broken) return 0;
    return this.slots.filter((s) => Atomics.load(this.ctrl, STATE + s.index) === 0).length;
  }

  dispose(): void {
    if (this.broken) return;
    this.broken = true;
    for (const s of this.slots) {
      void s.worker.terminate();
      s.errors.close();
    }
  }
}
