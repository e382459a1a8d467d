/**
 * Size-bucketed reuse of GPU buffers. Training and inference loops allocate the same sizes every step, so
 * after the first step no `createBuffer` happens at all. Buckets are eight per power of two (at most 12.5%
 * slack), 256 bytes at least (the storage-binding offset alignment, and no zero-sized buffers).
 */

/** A device allocation as the pool hands it out. `lastBatch` is the command batch that last used it. */
export interface Block {
  readonly gpu: GPUBuffer;
  readonly capacity: number;
  lastBatch: number;
}

const MIN_BYTES = 256;

/** The bucket a request of `bytes` is served from (never above `maxBytes` when the request fits it). */
export function bucketBytes(bytes: number, maxBytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(MIN_BYTES, octave / 8);
  const rounded = Math.ceil(bytes / step) * step;
  if (rounded <= maxBytes) return rounded;
  return Math.ceil(bytes / 4) * 4;
}

export class BufferPool {
  private readonly free = new Map<number, Block[]>();
  /** Bytes sitting in free lists. */
  pooledBytes = 0;
  /** Bytes handed out and not yet released. */
  liveBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly maxBufferSize: number,
    /** Free bytes kept for reuse; beyond this, released buffers are destroyed. */
    private readonly keepBytes: number,
    private readonly label: string,
  ) {}

  acquire(bytes: number): Block {
    const capacity = bucketBytes(bytes, this.maxBufferSize);
    const list = this.free.get(capacity);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= capacity;
      this.liveBytes += capacity;
      return reused;
    }
    const gpu = this.device.createBuffer({ size: capacity, usage: this.usage, label: `${this.label} ${capacity}` });
    this.liveBytes += capacity;
    return { gpu, capacity, lastBatch: 0 };
  }

  release(block: Block): void {
    this.liveBytes -= block.capacity;
    if (this.pooledBytes + block.capacity > this.keepBytes) {
      block.gpu.destroy();
      return;
    }
    let list = this.free.get(block.capacity);
    if (!list) this.free.set(block.capacity, (list = []));
    list.push(block);
    this.pooledBytes += block.capacity;
  }

  /** Drops a block that must not be reused (e.g. a staging buffer whose mapping failed). */
  discard(block: Block): void {
    this.liveBytes -= block.capacity;
    block.gpu.destroy();
  }

  /** Destroys every pooled (free) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.gpu.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
