/**
 * The oneDNN backend: buffers are host memory (views of ArrayBuffers from the toolkit's BufferPool), every
 * kernel runs synchronously in the addon — convolutions and GEMMs on oneDNN's JIT primitives, the rest in
 * plain C++, all on one OpenMP team — and `read` resolves at once with a copy.
 */
import { BufferPool, TesseraError, dtypeOfTyped } from '@tessera/tensor/backend';
import type { Backend, BackendMemory, DType, Kernels, TypedArray } from '@tessera/tensor/backend';
import { type OnednnBuffer, createOnednnKernels, touch } from './kernels.js';
import { type NativeAddon, type NativeProbe, loadNative } from './native.js';

export interface OnednnBackendOptions {
  /**
   * OpenMP threads for oneDNN and the plain kernels. Default TESSERA_ONEDNN_THREADS, else OpenMP's own
   * default (OMP_NUM_THREADS, else one per core).
   */
  threads?: number;
  /** Bytes of freed storage kept for reuse (default 512 MiB). */
  poolBytes?: number;
}

/** The allocator's own figures beside the Backend's memory() report. */
export interface OnednnMemoryStats {
  /** Storage blocks obtained so far (ArrayBuffer allocations); constant in a steady-state loop. */
  allocations: number;
  /** Bytes of freed blocks kept for reuse. */
  pooledBytes: number;
  /** Cached convolution primitives and the bytes of blocked-layout buffers they keep. */
  primitives: number;
  primitiveBytes: number;
}

function envThreads(): number | undefined {
  const v = typeof process !== 'undefined' ? process.env.TESSERA_ONEDNN_THREADS : undefined;
  if (v === undefined || v === '') return undefined;
  const t = Number(v);
  if (!Number.isInteger(t) || t < 1) throw new TesseraError('onednn', `TESSERA_ONEDNN_THREADS must be a positive integer, got ${JSON.stringify(v)}`);
  return t;
}

export class OnednnBackend implements Backend<OnednnBuffer> {
  readonly name = 'onednn';
  readonly dtypes: readonly DType[] = ['float32', 'int32'];
  readonly kernels: Kernels<OnednnBuffer>;
  /** What the addon reports: oneDNN version, OpenMP threads, the ISA its JIT targets. */
  readonly info: NativeProbe;
  private readonly pool: BufferPool<ArrayBuffer>;
  private readonly live = new WeakSet<OnednnBuffer>();
  private bytesLive = 0;
  private disposed = false;

  constructor(
    private readonly native: NativeAddon,
    options: OnednnBackendOptions = {},
  ) {
    const threads = options.threads ?? envThreads();
    if (threads !== undefined) {
      if (!Number.isInteger(threads) || threads < 1) throw new TesseraError('onednn', `threads must be a positive integer, got ${threads}`);
      native.setThreads(threads);
    }
    this.info = native.probe();
    const poolBytes = options.poolBytes ?? 512 * 2 ** 20;
    this.pool = new BufferPool<ArrayBuffer>(
      {
        allocate: (bytes) => new ArrayBuffer(bytes),
        // Dropped storage goes to the garbage collector.
        release: () => {},
        isOutOfMemory: (err) => err instanceof RangeError,
      },
      { name: 'onednn', sizeClasses: { granule: 64, linearUpTo: 4096, allowEmpty: true }, keepBytes: poolBytes },
    );
    this.kernels = createOnednnKernels(native);
  }

  alloc(dtype: DType, size: number): OnednnBuffer {
    if (this.disposed) throw new TesseraError('alloc', 'the onednn backend has been disposed');
    if (!Number.isInteger(size) || size < 0) throw new TesseraError('alloc', `size must be a non-negative integer, got ${size}`);
    if (dtype !== 'float32' && dtype !== 'int32') throw new TesseraError('alloc', `the onednn backend holds float32 and int32, not ${JSON.stringify(dtype)}`);
    const storage = this.pool.acquire(size * 4);
    const buffer: OnednnBuffer = { dtype, size, data: dtype === 'float32' ? new Float32Array(storage, 0, size) : new Int32Array(storage, 0, size), version: 0 };
    touch(buffer);
    this.live.add(buffer);
    this.bytesLive += size * 4;
    return buffer;
  }

  free(buffer: OnednnBuffer): void {
    if (!this.live.delete(buffer)) throw new TesseraError('free', 'the buffer is not a live buffer of this onednn backend (freed twice?)');
    this.bytesLive -= buffer.size * 4;
    const storage = buffer.data.buffer as ArrayBuffer;
    if (this.disposed) this.pool.discard(storage);
    else this.pool.release(storage);
  }

  write(buffer: OnednnBuffer, data: TypedArray): void {
    if (data.length !== buffer.size) throw new TesseraError('write', `expected ${buffer.size} elements, got ${data.length}`);
    const dtype = dtypeOfTyped(data);
    if (dtype !== buffer.dtype) throw new TesseraError('write', `expected ${buffer.dtype} data, got ${dtype}`);
    buffer.data.set(data as Float32Array & Int32Array);
    touch(buffer);
  }

  read(buffer: OnednnBuffer): Promise<TypedArray> {
    if (!this.live.has(buffer)) return Promise.reject(new TesseraError('read', 'the buffer has been freed'));
    return Promise.resolve(buffer.data.slice());
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  memory(): BackendMemory {
    const s = this.pool.stats();
    return { bytesInUse: this.bytesLive, bytesReserved: s.liveBytes + s.pooledBytes + (this.disposed ? 0 : this.native.cacheStats().bytes) };
  }

  stats(): OnednnMemoryStats {
    const s = this.pool.stats();
    const c = this.disposed ? { primitives: 0, bytes: 0 } : this.native.cacheStats();
    return { allocations: s.allocations, pooledBytes: s.pooledBytes, primitives: c.primitives, primitiveBytes: c.bytes };
  }

  /** Drops the storage kept for reuse and the cached primitives with their blocked buffers. */
  trim(): void {
    this.pool.trim();
    this.native.clearCache();
  }

  dispose(): void {
    if (this.disposed) return;
    this.trim();
    this.disposed = true;
  }
}

/** Loads the addon; throws a TesseraError that says why when it was not built or cannot load. */
export function createOnednnBackend(options: OnednnBackendOptions = {}): OnednnBackend {
  return new OnednnBackend(loadNative(), options);
}
