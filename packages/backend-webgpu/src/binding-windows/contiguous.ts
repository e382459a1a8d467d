/** Chunking of contiguous one-element-per-thread work so that every chunk fits one storage binding. */
import type { GpuBuffer, Runtime, Window } from '../runtime.js';

/**
 * Calls `emit(start, count, windows)` for consecutive chunks of `n` elements over buffers that are all
 * indexed by the same element index (windows start exactly at `start`, so kernels index from 0).
 */
export function planLinear(
  rt: Runtime,
  op: string,
  n: number,
  buffers: readonly { buffer: GpuBuffer; role: string }[],
  emit: (start: number, count: number, windows: Window[]) => void,
): void {
  if (n === 0) return;
  if (buffers.every((b) => b.buffer.size * 4 <= rt.limits.maxStorageBufferBindingSize)) {
    emit(
      0,
      n,
      buffers.map((b) => rt.whole(b.buffer, op, b.role)),
    );
    return;
  }
  const align = rt.limits.minStorageBufferOffsetAlignment;
  const chunk = (Math.floor(rt.limits.maxStorageBufferBindingSize / align) * align) / 4;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    emit(
      start,
      count,
      buffers.map((b) => rt.window(b.buffer, start, start + count)),
    );
  }
}
