/**
 * The CPU reference backend, also the product's default: buffers are typed arrays, kernels run synchronously
 * on the calling thread (large GEMMs and convolutions split across worker threads, see threads.ts), and
 * `read` resolves immediately with a copy.
 */
import type { Backend, BackendMemory } from '../backend/backend.js';
import type { BackendBuffer, Kernels } from '../backend/kernels.js';
import { type DType, DTYPES, type TypedArray, bytesPerElement, dtypeOfTyped } from '../dtype.js';
import { BufferPool } from '../backend-toolkit/buffer-pool.js';
import { TesseraError } from '../errors.js';
import { createCpuKernels } from './kernels/index.js';
import { gemmWasm } from './kernels/gemm-wasm.js';
import { type GemmFn, type GemmScratch, createGemmScratch, gemm, gemmKernel } from './kernels/matmul.js';
import { relaxedSimdAvailable } from './kernels/relaxed-simd.js';
import type { CpuRuntime, WorkerTask } from './kernels/runtime.js';
import type { FloatArray } from './kernels/util.js';
import { ThreadPool, threadsSupported } from './threads.js';

export interface CpuBuffer extends BackendBuffer {
  data: Float32Array | Int32Array | Float64Array;
}

export interface CpuBackendOptions {
  /** The name the backend reports (default 'cpu'); give a second instance its own. */
  name?: string;
  /**
   * Threads a large GEMM or convolution may use, the calling thread included. Defaults to the
   * TESSERA_CPU_THREADS environment variable, else the machine's available parallelism capped at 8;
   * 1 disables worker threads (and shared memory).
   */
  threads?: number;
  /**
   * Upper bound on the bytes of freed storage kept for reuse when buffers are plain ArrayBuffers (threads: 1);
   * default 256 MiB, 0 disables pooling. Shared storage (threads > 1) is always kept: see CpuBackend.trim.
   */
  poolBytes?: number;
  /**
   * Run the GEMM tile loops in WebAssembly SIMD (default: wherever it is available). false forces the
   * portable JS micro-kernels, which compute bit-identical results (to `relaxedSimd: false`) several times slower.
   */
  simd?: boolean;
  /**
   * Let float32 GEMMs use relaxed SIMD's multiply-add, which the engine may fuse (default: wherever available;
   * in Node 20 this sets V8's --experimental-wasm-relaxed-simd). Fused results differ from the JS kernels in
   * the last bits; false keeps float32 GEMMs reproducible in JS (f32x4 multiply, then add).
   */
  relaxedSimd?: boolean;
}

/** GEMMs below this many multiply-adds (≈0.15 ms on one core) do not pay for a round trip to the workers (≈20–50 µs). */
const PARALLEL_MIN_MACS = 1 << 21;

function defaultThreads(): number {
  if (typeof process === 'undefined') {
    // Browsers: the cores the page may use (threads.ts decides whether workers can start at all).
    const n = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
    return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? Math.min(8, n) : 1;
  }
  const env = process.env?.TESSERA_CPU_THREADS;
  if (env !== undefined && env !== '') {
    const t = Number(env);
    if (Number.isInteger(t) && t >= 1) return t;
    throw new TesseraError('cpu', `TESSERA_CPU_THREADS must be a positive integer, got ${JSON.stringify(env)}`);
  }
  try {
    const os = process.getBuiltinModule?.('node:os');
    // Each worker is a V8 isolate (≈10 MB); past 8, per-kernel splitting rarely has enough work to share.
    return os ? Math.min(8, Math.max(1, os.availableParallelism())) : 1;
  } catch {
    return 1;
  }
}

function isShared(a: FloatArray): boolean {
  return typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;
}

function view(dtype: DType, storage: ArrayBufferLike, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(storage, 0, size);
    case 'int32':
      return new Int32Array(storage, 0, size);
    case 'float64':
      return new Float64Array(storage, 0, size);
  }
}

export class CpuBackend implements Backend<CpuBuffer> {
  readonly name: string;
  readonly dtypes: readonly DType[] = DTYPES;
  readonly kernels: Kernels<CpuBuffer>;
  /** Total threads for GEMMs, the calling one included. */
  readonly threads: number;
  /** Whether GEMMs run their tile loops in WebAssembly SIMD. */
  get simd(): boolean {
    return this.mainScratch.block64 !== null;
  }
  /** Whether float32 GEMMs use relaxed SIMD's (possibly fused) multiply-add. */
  readonly relaxedSimd: boolean;

  /**
   * Storage lives in SharedArrayBuffers when worker threads may touch it. V8 does not count those towards
   * the memory pressure that triggers garbage collection (measured on Node 20: dropping 6 MiB SABs in a loop
   * grew RSS to 2.3 GiB with no GC at all), so shared storage is never dropped on free: like a device
   * allocator, the backend keeps it for reuse until trim() or dispose().
   */
  private readonly shared: boolean;
  /**
   * Storage by size class (64-byte granules up to 4 KiB, then eight classes per octave): training and
   * inference loops reallocate the same sizes every step.
   */
  private readonly storagePool: BufferPool<ArrayBufferLike>;
  private readonly live = new WeakSet<CpuBuffer>();
  /** Bytes requested by live buffers. */
  private bytesLive = 0;
  private readonly scratchArrays = new Map<string, FloatArray>();
  private bytesScratch = 0;
  private readonly wasm: Uint8Array | null;
  private readonly mainScratch: GemmScratch;
  /** undefined until the first GEMM large enough to share; null when threads are off or failed to start. */
  private pool: ThreadPool | null | undefined;
  private disposed = false;

  constructor(options: CpuBackendOptions = {}) {
    this.name = options.name ?? 'cpu';
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1) throw new TesseraError('cpu', `threads must be a positive integer, got ${threads}`);
    const poolBytes = options.poolBytes ?? 256 * 2 ** 20;
    if (!(poolBytes >= 0)) throw new TesseraError('cpu', `poolBytes must be non-negative, got ${poolBytes}`);
    // The relaxed module, where wanted and the engine validates it (enabling it in Node first), else the plain one.
    const relaxed = options.simd !== false && options.relaxedSimd !== false && relaxedSimdAvailable() ? gemmWasm(true) : null;
    this.wasm = options.simd === false ? null : (relaxed ?? gemmWasm(false));
    this.mainScratch = createGemmScratch(this.wasm);
    this.relaxedSimd = relaxed !== null && this.mainScratch.block32 !== null;
    this.shared = threads > 1 && threadsSupported();
    this.threads = this.shared ? threads : 1;
    if (!this.shared) this.pool = null;
    const shared = this.shared;
    this.storagePool = new BufferPool<ArrayBufferLike>(
      {
        allocate: (bytes) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes)),
        // Plain storage goes to the garbage collector; shared storage is never dropped while the backend lives.
        release: () => {},
      },
      { name: 'cpu', sizeClasses: { granule: 64, linearUpTo: 4096, allowEmpty: true }, keepBytes: shared ? Infinity : poolBytes },
    );
    const runtime: CpuRuntime = {
      gemm: this.gemm,
      serialGemm: (m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta) =>
        gemm(m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta, this.mainScratch),
      workers: () => (this.shared ? (this.threadPool()?.ready().length ?? 0) : 0),
      isShared,
      parallelMinMacs: PARALLEL_MIN_MACS,
      fork: (remote, local) => {
        const pool = this.threadPool();
        const slots = pool ? pool.ready() : [];
        if (!pool || slots.length < remote.length) throw new TesseraError('cpu', `${remote.length} tasks for ${slots.length} ready worker threads`);
        pool.run(slots, remote, local);
      },
      scratch64: (slot, size) => this.scratch(`f64:${slot}`, size, 'float64') as Float64Array,
      scratchLike: (slot, size, like) => {
        const dtype = like instanceof Float32Array ? 'float32' : 'float64';
        return this.scratch(`${dtype}:${slot}`, size, dtype);
      },
    };
    this.kernels = createCpuKernels(runtime);
  }

  alloc(dtype: DType, size: number): CpuBuffer {
    if (this.disposed) throw new TesseraError('alloc', 'the cpu backend has been disposed');
    if (!Number.isInteger(size) || size < 0) throw new TesseraError('alloc', `size must be a non-negative integer, got ${size}`);
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'float64')
      throw new TesseraError('alloc', `the cpu backend cannot hold dtype ${JSON.stringify(dtype)}`);
    const bytes = size * bytesPerElement(dtype);
    const storage = this.storagePool.acquire(bytes);
    const buffer: CpuBuffer = { dtype, size, data: view(dtype, storage, size) };
    this.live.add(buffer);
    this.bytesLive += bytes;
    return buffer;
  }

  free(buffer: CpuBuffer): void {
    if (!this.live.delete(buffer)) throw new TesseraError('free', 'the buffer is not a live buffer of this cpu backend (freed twice?)');
    this.bytesLive -= buffer.data.byteLength;
    if (this.disposed) this.storagePool.discard(buffer.data.buffer);
    else this.storagePool.release(buffer.data.buffer);
  }

  /**
   * Drops the storage kept for reuse (V8 reclaims it at its next garbage collection) and the kernels'
   * scratch memory. Live buffers are unaffected.
   */
  trim(): void {
    if (this.pool) this.pool.forget();
    this.storagePool.trim();
    this.scratchArrays.clear();
    this.bytesScratch = 0;
  }

  write(buffer: CpuBuffer, data: TypedArray): void {
    if (data.length !== buffer.size) throw new TesseraError('write', `expected ${buffer.size} elements, got ${data.length}`);
    const dtype = dtypeOfTyped(data);
    if (dtype !== buffer.dtype) throw new TesseraError('write', `expected ${buffer.dtype} data, got ${dtype}`);
    buffer.data.set(data);
  }

  read(buffer: CpuBuffer): Promise<TypedArray> {
    // slice() copies into a fresh, non-shared ArrayBuffer.
    return Promise.resolve(buffer.data.slice());
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  memory(): BackendMemory {
    const pool = this.storagePool.stats();
    return { bytesInUse: this.bytesLive, bytesReserved: pool.liveBytes + pool.pooledBytes + this.bytesScratch };
  }

  dispose(): void {
    this.disposed = true;
    this.pool?.dispose();
    this.pool = null;
    this.trim();
  }

  /**
   * Starts the worker threads now instead of at the first large GEMM and resolves, once they have booted (or
   * after `timeoutMs`), with the number ready to take work. Kernels never wait for workers to boot.
   */
  async startThreads(timeoutMs = 10_000): Promise<number> {
    const pool = this.threadPool();
    if (!pool) return 0;
    const start = Date.now();
    while (pool.booting() > 0 && Date.now() - start < timeoutMs) await new Promise((resolve) => setTimeout(resolve, 5));
    return pool.ready().length;
  }

  private scratch(key: string, size: number, dtype: 'float32' | 'float64'): FloatArray {
    const have = this.scratchArrays.get(key);
    if (have && have.length >= size) return have;
    const bytes = size * bytesPerElement(dtype);
    const storage = this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const array = dtype === 'float32' ? new Float32Array(storage) : new Float64Array(storage);
    if (have && this.pool && have.buffer instanceof SharedArrayBuffer) this.pool.forget(have.buffer);
    this.bytesScratch += bytes - (have ? have.byteLength : 0);
    this.scratchArrays.set(key, array);
    return array;
  }

  private threadPool(): ThreadPool | null {
    if (this.pool === undefined && !this.disposed) this.pool = ThreadPool.create(this.threads - 1, this.wasm);
    return this.pool ?? null;
  }

  /** GEMM entry point for the kernels: splits large products across the ready workers along m or n. */
  private readonly gemm: GemmFn = (m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta) => {
    const macs = m * n * k;
    const pool = macs >= PARALLEL_MIN_MACS ? this.threadPool() : null;
    const slots = pool && isShared(A) && isShared(B) && isShared(C) ? pool.ready() : [];
    // Split the dimension whose operand is not duplicated: every part packs all of the other operand. Parts
    // along m run the whole product's kernel (gemmKernel), else they would round differently.
    const kernel = gemmKernel(m, n, A, B, brs);
    const alongN = n >= m || gemmKernel(Math.min(4, m), n, A, B, brs) !== kernel;
    const units = Math.ceil((alongN ? n : m) / 4);
    const parts = Math.min(slots.length + 1, units, Math.floor(macs / (PARALLEL_MIN_MACS / 2)));
    const dim = alongN ? n : m;
    const bound = (t: number): number => Math.min(dim, Math.round((t * units) / parts) * 4);
    let consistent = true;
    for (let t = 0; t < parts; t++) {
      const len = bound(t + 1) - bound(t);
      if (gemmKernel(alongN ? m : len, alongN ? len : n, A, B, brs) !== kernel) consistent = false;
    }
    if (!pool || parts < 2 || !consistent) {
      gemm(m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta, this.mainScratch);
      return;
    }
    const slice = (t: number): unknown[] => {
      const lo = bound(t);
      const len = bound(t + 1) - lo;
      return alongN
        ? [m, len, k, A, aOff, ars, acs, B, bOff + lo * bcs, brs, bcs, C, cOff + lo, ldc, beta]
        : [len, n, k, A, aOff + lo * ars, ars, acs, B, bOff, brs, bcs, C, cOff + lo * ldc, ldc, beta];
    };
    const remote: WorkerTask[] = [];
    for (let t = 1; t < parts; t++) remote.push(['gemm', ...slice(t)]);
    const hi = bound(1);
    pool.run(slots, remote, () =>
      alongN
        ? gemm(m, hi, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta, this.mainScratch)
        : gemm(hi, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta, this.mainScratch),
    );
  };
}

export function createCpuBackend(options?: CpuBackendOptions): CpuBackend {
  return new CpuBackend(options);
}
