/**
 * What every CPU-backend worker runs, in Node (worker.ts) and in browsers (worker-web.ts): the very kernels the
 * calling thread runs, so a slice computed here is bit-identical to one computed there, a self-test and warm-up
 * before the worker says it is ready, and the task loop. The entry modules only wire it to their messaging.
 */
import { convBackwardFilterRange, convBackwardInputRange, convForwardRange } from './kernels/conv.js';
import { type GemmFn, createGemmScratch, gemm } from './kernels/matmul.js';
import { ERROR, PENDING, STATE, type SharedView } from './worker-protocol.js';

export interface WorkerSetup {
  ctrl: Int32Array;
  index: number;
  wasm: Uint8Array | null;
  /** Hands the stack of a failed slice to the calling thread, which reads it once the slice is counted done. */
  report: (message: string) => void;
}

export interface WorkerLoop {
  /** Handles one message from the calling thread: ['share', id, sab], ['forget', id?] or [task, ...args]. */
  handle: (message: [string, ...unknown[]]) => void;
  /** Self-tests and warms up, then marks this worker ready (or unusable) in the shared state. */
  boot: () => void;
}

export function workerLoop({ ctrl, index, wasm, report }: WorkerSetup): WorkerLoop {
  const scratch = createGemmScratch(wasm);

  /** Refuses work unless the kernels compute a known product here (e.g. if instrumentation broke them). */
  const selfTest = (): boolean => {
    const m = 6;
    const n = 7;
    const k = 5;
    const A = new Float32Array(m * k).map((_, i) => (i % 7) - 3);
    const B = new Float64Array(k * n).map((_, i) => (i % 5) - 2);
    const C = new Float32Array(m * n);
    gemm(m, n, k, A, 0, k, 1, B, 0, n, 1, C, 0, n, 0, scratch);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += A[i * k + q]! * B[q * n + j]!;
        if (C[i * n + j] !== s) return false;
      }
    }
    return true;
  };

  /**
   * Engines first run WebAssembly through a baseline compiler and only switch to optimised code once a function
   * has run for a while; until then this worker would be ~3× slower than a warm caller, which then waits for it.
   * A few milliseconds of GEMMs before joining trigger the switch.
   */
  const warmUp = (): void => {
    const n = 64;
    const k = 256;
    const A = new Float32Array(n * k).fill(1);
    const C = new Float32Array(n * n);
    const start = Date.now();
    do gemm(n, n, k, A, 0, k, 1, A, 0, n, 1, C, 0, n, 0, scratch);
    while (Date.now() - start < 30);
  };

  const mm: GemmFn = (m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta) =>
    gemm(m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta, scratch);

  /** A kernel's arguments without its trailing GEMM function, which the worker supplies. */
  type RangeArgs<F> = F extends (...args: [...infer A, GemmFn]) => void ? A : never;

  const TASKS: Record<string, (args: unknown[]) => void> = {
    gemm: (a) => mm(...(a as Parameters<GemmFn>)),
    convForwardRange: (a) => convForwardRange(...(a as RangeArgs<typeof convForwardRange>), mm),
    convBackwardInputRange: (a) => convBackwardInputRange(...(a as RangeArgs<typeof convBackwardInputRange>), mm),
    convBackwardFilterRange: (a) => convBackwardFilterRange(...(a as RangeArgs<typeof convBackwardFilterRange>), mm),
  };

  // Shared memory arrives once per SharedArrayBuffer ('share'); tasks then name it by id. Posting the buffers with
  // every task made each postMessage slower as un-collected clones piled up in this thread.
  const shared = new Map<number, SharedArrayBuffer>();

  const isSharedView = (a: unknown): a is SharedView => a !== null && typeof a === 'object' && (a as SharedView).sab !== undefined;

  const decode = (a: unknown): unknown => {
    if (!isSharedView(a)) return a;
    const sab = shared.get(a.sab);
    if (!sab) throw new Error(`shared buffer ${a.sab} was never posted to this worker`);
    switch (a.type) {
      case 0:
        return new Float32Array(sab, a.offset, a.length);
      case 1:
        return new Float64Array(sab, a.offset, a.length);
      default:
        return new Int32Array(sab, a.offset, a.length);
    }
  };

  const handle = ([name, ...args]: [string, ...unknown[]]): void => {
    if (name === 'share') return void shared.set(args[0] as number, args[1] as SharedArrayBuffer);
    if (name === 'forget') return void (args.length ? shared.delete(args[0] as number) : shared.clear());
    try {
      const task = TASKS[name];
      if (!task) throw new TypeError(`unknown worker task ${name}`);
      task(args.map(decode));
    } catch (e) {
      Atomics.store(ctrl, ERROR, 1);
      report(String((e instanceof Error && e.stack) || e));
    } finally {
      Atomics.sub(ctrl, PENDING, 1);
      Atomics.notify(ctrl, PENDING);
    }
  };

  const boot = (): void => {
    let ok = false;
    try {
      ok = selfTest();
      if (ok) warmUp();
    } catch {
      ok = false;
    }
    Atomics.store(ctrl, STATE + index, ok ? 1 : -1);
  };

  return { handle, boot };
}
