import type { DType, TypedArray } from '../dtype.js';
import type { BackendBuffer, Kernels } from './kernels.js';

/** What a backend reports about its own allocations (pooled buffers included). */
export interface BackendMemory {
  /** Bytes currently handed out to live buffers. */
  bytesInUse: number;
  /** Bytes held by the backend in total, including its reuse pool. */
  bytesReserved: number;
}

/**
 * A compute device. Buffers live on the device; `alloc`, `write` and every kernel only enqueue work and
 * never wait for it. `read` is the only asynchronous way back to the host.
 */
export interface Backend<B extends BackendBuffer = BackendBuffer> {
  readonly name: string;
  /** dtypes this backend can hold. Every backend holds float32 and int32. */
  readonly dtypes: readonly DType[];
  readonly kernels: Kernels<B>;
  /** A new buffer of `size` elements; contents undefined until written or filled. */
  alloc(dtype: DType, size: number): B;
  /** Returns the buffer to the backend (which may pool it). The buffer must not be used afterwards. */
  free(buffer: B): void;
  /** Copies host data into the buffer (data.length === buffer.size, same dtype). The caller may reuse `data`. */
  write(buffer: B, data: TypedArray): void;
  /** Resolves with a host copy of the buffer once every kernel enqueued before the call has finished. */
  read(buffer: B): Promise<TypedArray>;
  /** Resolves when all enqueued work has finished. */
  sync(): Promise<void>;
  memory(): BackendMemory;
  /** Releases the device. */
  dispose(): void;
}

/** Creates a backend, or throws a TesseraError whose message says why it is unavailable. */
export type BackendFactory = () => Backend | Promise<Backend>;
