/**
 * The CUDA backend: buffers come from the toolkit's BufferPool (size classes, reuse, the out-of-memory
 * drop-cache-and-retry) over the addon's raw cudaMalloc/cudaFree, every kernel is enqueued on one CUDA
 * stream, and `read`/`sync` resolve from a worker thread once the stream has reached them, so Node's event
 * loop never blocks on the GPU. One stream orders all work, so a freed block can be handed out again at once.
 */
import { BufferPool, TesseraError } from '@tessera/tensor/backend';
import type { Backend, BackendMemory, DType, Kernels, SizeClassPolicy, TypedArray } from '@tessera/tensor/backend';
import { type CudaBuffer, type DeviceBlock, createCudaKernels, isCudaOutOfMemory } from './kernels.js';
import { type DeviceInfo, type NativeAddon, type NativeMemory, loadNative } from './native.js';

/** 512-byte granules up to 1 MiB, then the toolkit's eight classes per octave. */
const SIZE_CLASSES: SizeClassPolicy = { granule: 512, linearUpTo: 1 << 20 };
/**
 * TESSERA_CUDA_EXACT_BLOCKS=1: every block is exactly its request (rounded to 4 bytes), so the sanitizer
 * build sees an access just past a tensor's end instead of landing in a size class's slack.
 */
const EXACT_BLOCKS: SizeClassPolicy = { granule: 4, linearUpTo: Number.MAX_SAFE_INTEGER };

export type CudaMath = 'tf32' | 'fp32';

/** Everything the allocator reports: the pool's accounting beside the addon's own figures. */
export interface CudaMemoryReport extends NativeMemory {
  /** Bytes (size classes) of pool blocks held by live buffers. */
  liveBytes: number;
  /** Bytes of freed blocks the pool keeps for reuse. */
  bytesCached: number;
}

export interface CudaBackendOptions {
  /** CUDA device index (default TESSERA_CUDA_DEVICE, else 0). */
  device?: number;
  /**
   * GEMM and convolution arithmetic: 'tf32' runs them on tensor cores (TF32 inputs, fp32 accumulation,
   * like PyTorch with allow_tf32); 'fp32' is exact single precision. Default TESSERA_CUDA_MATH, else 'tf32'.
   */
  math?: CudaMath;
}

function envOption(name: string): string | undefined {
  const v = typeof process !== 'undefined' ? process.env[name] : undefined;
  return v === undefined || v === '' ? undefined : v;
}

export class CudaBackend implements Backend<CudaBuffer> {
  readonly name = 'cuda';
  readonly dtypes: readonly DType[] = ['float32', 'int32'];
  readonly kernels: Kernels<CudaBuffer>;
  readonly device: DeviceInfo;
  private mathMode: CudaMath;
  private readonly pool: BufferPool<DeviceBlock>;
  private bytesInUse = 0;
  private disposed = false;

  constructor(
    private readonly native: NativeAddon,
    options: CudaBackendOptions = {},
  ) {
    const index = options.device ?? Number(envOption('TESSERA_CUDA_DEVICE') ?? 0);
    try {
      this.device = native.init(index);
    } catch (err) {
      throw new TesseraError('cuda', `no usable CUDA device: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const math = options.math ?? envOption('TESSERA_CUDA_MATH') ?? 'tf32';
    if (math !== 'tf32' && math !== 'fp32') throw new TesseraError('cuda', `math must be 'tf32' or 'fp32', got ${JSON.stringify(math)}`);
    this.mathMode = math;
    native.setTf32(math === 'tf32');
    this.pool = new BufferPool<DeviceBlock>(
      {
        allocate: (bytes) => ({ ptr: native.malloc(bytes) }),
        release: (block) => native.free(block.ptr),
        isOutOfMemory: isCudaOutOfMemory,
      },
      { name: 'cuda', sizeClasses: envOption('TESSERA_CUDA_EXACT_BLOCKS') === '1' ? EXACT_BLOCKS : SIZE_CLASSES },
    );
    this.kernels = createCudaKernels(native, () => this.pool.trim());
  }

  /** The GEMM / convolution arithmetic in use. */
  get math(): CudaMath {
    return this.mathMode;
  }

  set math(mode: CudaMath) {
    if (mode !== 'tf32' && mode !== 'fp32') throw new TesseraError('cuda', `math must be 'tf32' or 'fp32', got ${JSON.stringify(mode)}`);
    this.mathMode = mode;
    this.native.setTf32(mode === 'tf32');
  }

  alloc(dtype: DType, size: number): CudaBuffer {
    if (this.disposed) throw new TesseraError('alloc', 'the cuda backend has been disposed');
    if (!Number.isInteger(size) || size < 0) throw new TesseraError('alloc', `size must be a non-negative integer, got ${size}`);
    if (dtype !== 'float32' && dtype !== 'int32') throw new TesseraError('alloc', `the cuda backend holds float32 and int32, not ${JSON.stringify(dtype)}`);
    if (size >= 2 ** 31) throw new TesseraError('alloc', `${size} elements is more than the cuda kernels index (2³¹ − 1)`);
    let block: DeviceBlock;
    try {
      block = this.pool.acquire(size * 4);
    } catch (err) {
      const info = this.native.memory();
      throw new TesseraError(
        'alloc',
        `${dtype}[${size}]: ${err instanceof Error ? err.message : String(err)}; the device has ${info.deviceFree} of ${info.deviceTotal} bytes free`,
        { cause: err },
      );
    }
    this.bytesInUse += size * 4;
    return { dtype, size, ptr: block.ptr, block, freed: false };
  }

  free(buffer: CudaBuffer): void {
    if (buffer.freed) throw new TesseraError('free', 'the buffer was already freed');
    buffer.freed = true;
    this.bytesInUse -= buffer.size * 4;
    if (this.disposed) return;
    try {
      this.pool.release(buffer.block);
    } catch (err) {
      throw new TesseraError('free', err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  write(buffer: CudaBuffer, data: TypedArray): void {
    if (data.length !== buffer.size) throw new TesseraError('write', `expected ${buffer.size} elements, got ${data.length}`);
    const ok = buffer.dtype === 'float32' ? data instanceof Float32Array : data instanceof Int32Array;
    if (!ok) throw new TesseraError('write', `expected ${buffer.dtype} data, got ${data.constructor.name}`);
    try {
      this.native.write(buffer.ptr, data);
    } catch (err) {
      throw new TesseraError('write', err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  async read(buffer: CudaBuffer): Promise<TypedArray> {
    if (buffer.freed) throw new TesseraError('read', 'the buffer has been freed');
    let bytes: ArrayBuffer;
    try {
      bytes = await this.native.read(buffer.ptr, buffer.size * 4);
    } catch (err) {
      throw asTesseraError('read', err);
    }
    return buffer.dtype === 'float32' ? new Float32Array(bytes, 0, buffer.size) : new Int32Array(bytes, 0, buffer.size);
  }

  async sync(): Promise<void> {
    try {
      await this.native.sync();
    } catch (err) {
      throw asTesseraError('sync', err);
    }
  }

  memory(): BackendMemory {
    return { bytesInUse: this.bytesInUse, bytesReserved: this.disposed ? 0 : this.native.memory().bytesReserved };
  }

  /** The allocator's figures: pool bytes live and cached, cudaMalloc calls so far, scratch, pinned staging. */
  nativeMemory(): CudaMemoryReport {
    const { liveBytes, pooledBytes } = this.pool.stats();
    return { ...this.native.memory(), liveBytes, bytesCached: pooledBytes };
  }

  /** Returns cached (freed) device blocks, the kernel scratch and cached pinned staging to the driver. */
  trim(): void {
    if (this.disposed) return;
    this.pool.trim();
    this.native.trim();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.native.dispose();
  }
}

/** A native rejection carries the failing op (a kernel's deferred index error names its kernel). */
function asTesseraError(fallbackOp: string, err: unknown): TesseraError {
  if (err instanceof TesseraError) return err;
  const op = err instanceof Error && typeof (err as { op?: unknown }).op === 'string' ? (err as unknown as { op: string }).op : fallbackOp;
  return new TesseraError(op, err instanceof Error ? err.message : String(err), { cause: err });
}

/** Loads the addon and opens the device; throws a TesseraError that says why when either is impossible. */
export function createCudaBackend(options: CudaBackendOptions = {}): CudaBackend {
  return new CudaBackend(loadNative(), options);
}
