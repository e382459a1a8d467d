/**
 * @tessera/tensor — tensors with reverse-mode autograd on runtime-pluggable backends. Importing this module
 * registers the CPU backend's factory (the backend itself is created on first use); other backends register
 * themselves when their package is imported.
 */
import { registerBackend } from './backend/registry.js';
import { createCpuBackend } from './cpu/index.js';

registerBackend('cpu', () => createCpuBackend(), { priority: 0, implicitDefault: true });

export { Tensor, isTensor, type TensorLike, type NestedArray } from './tensor.js';
export { TesseraError } from './errors.js';
export type { DType, TypedArray } from './dtype.js';
export { tensor, zeros, ones, full, arange, randn, rand, bernoulli, type CreateOptions, type RandomOptions } from './ops/creation.js';
export { cat, pad } from './ops/shape.js';
export { matmul, bmm } from './ops/matmul.js';
export { tidy, keep, memory, noGrad, enableGrad, isGradEnabled, type MemoryInfo } from './engine.js';
export type { GradNode, BackwardOptions } from './autograd.js';
export { manualSeed, getRngState, setRngState, type RngState } from './random/generator.js';
export {
  registerBackend,
  setBackend,
  getBackend,
  backendByName,
  availableBackends,
  registeredBackends,
  describeDefaultBackend,
  isBackendInitialised,
  type BackendAvailability,
  type RegisterOptions,
} from './backend/registry.js';
export type { Backend, BackendFactory, BackendMemory } from './backend/backend.js';
export type * from './backend/kernels.js';
export { UNARY_OPS, BINARY_OPS } from './backend/kernels.js';
export { philox4x32, philoxFill } from './random/philox.js';
export * as F from './functional.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
export { saveSafetensors, loadSafetensors, serializeSafetensors, parseSafetensors, SafetensorsMap } from './io/index.js';
export {
  loadTorch,
  loadTorchStateDict,
  parseTorch,
  torchStateDict,
  TorchDict,
  TorchStateDict,
  type TorchValue,
  type TorchConversion,
  type LoadTorchOptions,
} from './io/index.js';
