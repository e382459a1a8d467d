/**
 * @tessera/tensor/backend — what a backend author needs besides the `Kernels` catalogue: stride helpers,
 * the size-class buffer pool (policy and accounting; the backend supplies allocate/release), the Philox
 * counter/key layout and the float conversions of its words, and dtype helpers.
 */
export type { Backend, BackendFactory, BackendMemory } from '../backend/backend.js';
export type * from '../backend/kernels.js';
export { UNARY_OPS, BINARY_OPS } from '../backend/kernels.js';
export { registerBackend } from '../backend/registry.js';
export { TesseraError, fmtShape } from '../errors.js';
export { contiguousStrides, collapseDims } from './strides.js';
export { KERNEL_NAMES, KERNEL_IDS, type KernelName } from './kernel-ids.js';
export { sizeClass, type SizeClassPolicy } from './size-class.js';
export { BufferPool, type BufferPoolPrimitives, type BufferPoolOptions, type BufferPoolStats } from './buffer-pool.js';
export {
  philox4x32,
  philoxFill,
  splitU64,
  blocksFor,
  uniformFromBits,
  flushSubnormal,
  randomConstants,
  type RandomConstants,
  NORMAL_TOLERANCE,
  normalTolerance,
} from '../random/philox.js';
export { type DType, DTYPES, type TypedArray, bytesPerElement, allocTyped, dtypeOfTyped } from '../dtype.js';
