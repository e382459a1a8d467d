/**
 * A caching allocator written once for every backend (tinygrad's LRUAllocator pattern): the pool rounds
 * requests to size classes, keeps freed blocks per class for reuse, and does the accounting; a backend
 * supplies only the primitives that obtain and release device memory. Training and inference loops allocate
 * the same sizes every step, so after the first step no primitive allocation happens at all.
 */
import { TesseraError } from '../errors.js';
import { type SizeClassPolicy, sizeClass } from './size-class.js';

export interface BufferPoolPrimitives<B> {
  /** Obtains a block of exactly `bytes` bytes (a size class) from the device. May throw; see isOutOfMemory. */
  allocate(bytes: number): B;
  /** Returns a block to the device for good. */
  release(block: B): void;
  /**
   * Whether an error thrown by `allocate` means the device is out of memory: the pool then releases every
   * cached block and tries once more before giving up with a TesseraError.
   */
  isOutOfMemory?(error: unknown): boolean;
}

export interface BufferPoolOptions {
  /** Name used in error messages, e.g. 'webgpu'. */
  name: string;
  sizeClasses: SizeClassPolicy;
  /** Bytes of free blocks kept for reuse (default: unbounded); a freed block beyond it is released at once. */
  keepBytes?: number;
}

export interface BufferPoolStats {
  /** Bytes (size classes) of blocks handed out and not yet returned. */
  liveBytes: number;
  /** Bytes of free blocks kept for reuse. */
  pooledBytes: number;
  /** Blocks obtained from the device so far (allocate calls that succeeded). */
  allocations: number;
}

export class BufferPool<B extends object> {
  private readonly free = new Map<number, B[]>();
  private readonly bytesOf = new WeakMap<B, number>();
  private readonly keepBytes: number;
  liveBytes = 0;
  pooledBytes = 0;
  allocations = 0;

  constructor(
    private readonly primitives: BufferPoolPrimitives<B>,
    private readonly options: BufferPoolOptions,
  ) {
    this.keepBytes = options.keepBytes ?? Infinity;
    if (!(this.keepBytes >= 0)) throw new TesseraError(options.name, `keepBytes must be non-negative, got ${options.keepBytes}`);
  }

  /** The size class a request of `bytes` is served from. */
  classOf(bytes: number): number {
    return sizeClass(bytes, this.options.sizeClasses);
  }

  /** A block of at least `bytes` bytes: a cached one of the same class, else a new one from the device. */
  acquire(bytes: number): B {
    const cls = this.classOf(bytes);
    const reused = this.free.get(cls)?.pop();
    if (reused) {
      this.pooledBytes -= cls;
      this.liveBytes += cls;
      return reused;
    }
    const block = this.obtain(cls, bytes);
    this.bytesOf.set(block, cls);
    this.liveBytes += cls;
    return block;
  }

  /** Bytes (the size class) behind a block this pool handed out. */
  capacity(block: B): number {
    const bytes = this.bytesOf.get(block);
    if (bytes === undefined) throw new TesseraError(this.options.name, 'the block was not allocated by this pool');
    return bytes;
  }

  /** Takes a block back for reuse (or releases it when the pool already keeps keepBytes). */
  release(block: B): void {
    const cls = this.capacity(block);
    this.liveBytes -= cls;
    if (this.pooledBytes + cls > this.keepBytes) {
      this.bytesOf.delete(block);
      this.primitives.release(block);
      return;
    }
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(block);
    this.pooledBytes += cls;
  }

  /** Releases a live block to the device instead of keeping it (e.g. one whose contents became unusable). */
  discard(block: B): void {
    this.liveBytes -= this.capacity(block);
    this.bytesOf.delete(block);
    this.primitives.release(block);
  }

  /** Releases every cached (free) block; live blocks are unaffected. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) this.primitives.release(b);
    this.free.clear();
    this.pooledBytes = 0;
  }

  stats(): BufferPoolStats {
    return { liveBytes: this.liveBytes, pooledBytes: this.pooledBytes, allocations: this.allocations };
  }

  private obtain(cls: number, requested: number): B {
    try {
      const block = this.primitives.allocate(cls);
      this.allocations++;
      return block;
    } catch (error) {
      if (!this.primitives.isOutOfMemory?.(error)) throw error;
      const cached = this.pooledBytes;
      this.trim();
      try {
        const block = this.primitives.allocate(cls);
        this.allocations++;
        return block;
      } catch (again) {
        if (!this.primitives.isOutOfMemory(again)) throw again;
        throw new TesseraError(
          this.options.name,
          `out of device memory: requested ${requested} bytes (size class ${cls}); ${this.liveBytes} bytes are live, ` +
            `${cached} cached bytes were released and the allocation retried`,
          { cause: again },
        );
      }
    }
  }
}
