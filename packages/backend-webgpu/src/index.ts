/**
 * @tessera/backend-webgpu — importing this module registers the backend "webgpu". Its factory requests an
 * adapter and a device on first use (`await setBackend('webgpu')`); where there is none, the backend is
 * reported unavailable with the reason.
 */
import { registerBackend } from '@tessera/tensor';
import { createWebGpuBackend } from './backend.js';

registerBackend('webgpu', () => createWebGpuBackend(), { priority: 10 });

export { WebGpuBackend, createWebGpuBackend, type WebGpuBackendOptions } from './backend.js';
export { GpuBuffer, type RuntimeOptions } from './runtime.js';
export { platformGpu, throttleDawnPolling, NODE_NO_ADAPTER_HINT } from './platform.js';
