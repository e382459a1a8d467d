/**
 * A persistent pool of worker threads that GEMMs and convolutions are split across, keeping kernels
 * synchronous: the calling thread posts one slice to each ready worker, computes its own slice, then blocks
 * in Atomics.wait until the workers have finished. Operands live in SharedArrayBuffers, so nothing is copied.
 *
 * Workers run worker.ts, a module that imports the very kernels the calling thread runs. A worker only
 * receives work after it has booted and passed a self-test; until then, or when threads are unavailable (browsers, no
 * worker_threads), everything runs on the calling thread. Workers are unref'd: they never keep a process
 * alive.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { TesseraError } from '../errors.js';
import type { WorkerTask } from './kernels/runtime.js';
import { ERROR, PENDING, STATE, type SharedView, type WorkerInit } from './worker-protocol.js';

type WorkerThreads = typeof import('node:worker_threads');

/**
 * The worker entry as a file URL. Under tests that run this package's TypeScript sources, the compiled
 * worker in dist/ (kept fresh by the test setup) stands in: a worker thread cannot load TypeScript.
 */
function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  const m = /^(.*)\/src\/cpu\/worker\.js$/.exec(here.href);
  return m && import.meta.url.endsWith('.ts') ? new URL(`${m[1]}/dist/cpu/worker.js`) : here;
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
    const url = workerUrl();
    for (let index = 0; index < count; index++) {
      const channel = new wt.MessageChannel();
      let worker: Worker;
      try {
        const init: WorkerInit = { ctrl: this.ctrl, errors: channel.port2, index, wasm };
        worker = new wt.Worker(url, {
          workerData: init,
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
