/**
 * A persistent pool of worker threads that GEMMs and convolutions are split across, keeping kernels
 * synchronous: the calling thread posts one slice to each ready worker, computes its own slice, then blocks
 * in Atomics.wait until the workers have finished. Operands live in SharedArrayBuffers, so nothing is copied.
 *
 * Workers run worker-core.ts, which imports the very kernels the calling thread runs: in Node as worker_threads
 * (worker.ts; unref'd, they never keep a process alive), in browsers as module Web Workers (worker-web.ts) — there
 * only from a dedicated worker of a cross-origin isolated page, since SharedArrayBuffer needs the isolation and
 * a page's main thread may not block in Atomics.wait. A worker only receives work after it has booted and passed
 * a self-test; until then, or when threads are unavailable, everything runs on the calling thread.
 */
import type { MessagePort, Worker as NodeWorker } from 'node:worker_threads';
import { TesseraError } from '../errors.js';
import type { WorkerTask } from './kernels/runtime.js';
import { ERROR, ERROR_BYTES, PENDING, STATE, takeError, type SharedView, type WebWorkerInit, type WorkerInit } from './worker-protocol.js';

/** The browser's Worker, declared here: this package compiles without the DOM library. */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  addEventListener(type: 'error' | 'messageerror', listener: (e: { preventDefault?: () => void }) => void): void;
}
declare const Worker: new (url: URL, options: { type: 'module' }) => WebWorker;

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

/**
 * Browsers: module Web Workers from a dedicated worker (WorkerGlobalScope, no document) of a cross-origin
 * isolated page.
 */
function webWorkersUsable(): boolean {
  const g = globalThis as { Worker?: unknown; WorkerGlobalScope?: unknown; crossOriginIsolated?: unknown; document?: unknown };
  return typeof g.Worker === 'function' && typeof g.WorkerGlobalScope === 'function' && g.crossOriginIsolated === true && g.document === undefined;
}

/** Whether this runtime can share memory with worker threads at all. */
export function threadsSupported(): boolean {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' && (loadWorkerThreads() !== null || webWorkersUsable());
}

interface Slot {
  post(message: unknown): void;
  /** The stacks of the slices that failed since the last call, read synchronously. */
  takeErrors(): string[];
  terminate(): void;
  index: number;
  /** Ids of the SharedArrayBuffers this worker holds. */
  known: Set<number>;
}

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private readonly ctrl: Int32Array;
  /** Where browser workers write the stacks of failed slices (Node workers post them on a MessagePort). */
  private readonly errorText: SharedArrayBuffer;
  private broken = false;
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private nextId = 1;

  /** Starts `count` workers (they boot asynchronously and join once ready), or null when threads are unavailable. */
  static create(count: number, wasm: Uint8Array | null): ThreadPool | null {
    if (count < 1 || !threadsSupported()) return null;
    try {
      const wt = loadWorkerThreads();
      const pool = new ThreadPool(count);
      for (let index = 0; index < count; index++) {
        const slot = wt ? pool.nodeSlot(wt, index, wasm) : pool.webSlot(index, wasm);
        if (slot) pool.slots.push(slot);
      }
      return pool;
    } catch {
      return null;
    }
  }

  private constructor(count: number) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * (STATE + count)));
    this.errorText = new SharedArrayBuffer(ERROR_BYTES * count);
  }

  private unusable(index: number): void {
    Atomics.store(this.ctrl, STATE + index, -1);
  }

  private nodeSlot(wt: WorkerThreads, index: number, wasm: Uint8Array | null): Slot | null {
    const channel = new wt.MessageChannel();
    let worker: NodeWorker;
    try {
      const init: WorkerInit = { ctrl: this.ctrl, errors: channel.port2, index, wasm };
      worker = new wt.Worker(workerUrl(), { workerData: init, transferList: [channel.port2] });
    } catch {
      channel.port1.close();
      return null;
    }
    worker.unref();
    channel.port1.unref();
    worker.on('error', () => this.unusable(index));
    worker.on('exit', () => this.unusable(index));
    const errors: MessagePort = channel.port1;
    return {
      index,
      known: new Set(),
      post: (message) => worker.postMessage(message),
      takeErrors: () => {
        const out: string[] = [];
        for (let m = wt.receiveMessageOnPort(errors); m; m = wt.receiveMessageOnPort(errors)) out.push(String(m.message));
        return out;
      },
      terminate: () => {
        void worker.terminate();
        errors.close();
      },
    };
  }

  private webSlot(index: number, wasm: Uint8Array | null): Slot | null {
    let worker: WebWorker;
    try {
      // This exact form lets bundlers (Vite, webpack, esbuild) emit worker-web.js as a worker chunk.
      worker = new Worker(new URL('./worker-web.js', import.meta.url), { type: 'module' });
    } catch {
      return null;
    }
    const fail = (e: { preventDefault?: () => void }): void => {
      e.preventDefault?.();
      this.unusable(index);
    };
    worker.addEventListener('error', fail);
    worker.addEventListener('messageerror', fail);
    const init: WebWorkerInit = { ctrl: this.ctrl, errors: this.errorText, index, wasm };
    worker.postMessage({ init });
    return {
      index,
      known: new Set(),
      post: (message) => worker.postMessage(message),
      takeErrors: () => {
        const text = takeError(this.errorText, index);
        return text ? [text] : [];
      },
      terminate: () => worker.terminate(),
    };
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
    for (let i = 0; i < remote.length; i++) slots[i]!.post(messages[i]);
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
      const messages = slots.flatMap((s) => s.takeErrors());
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
      slot.post(['share', id, sab]);
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
        if (slot.known.size > 0) slot.post(['forget']);
        slot.known.clear();
      } else if (slot.known.delete(id)) slot.post(['forget', id]);
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
    for (const s of this.slots) s.terminate();
  }
}
