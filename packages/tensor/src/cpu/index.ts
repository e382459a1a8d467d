export { CpuBackend, createCpuBackend, type CpuBackendOptions, type CpuBuffer } from './backend.js';
export { createCpuKernels, type CpuRuntime } from './kernels/index.js';
