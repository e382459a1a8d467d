/**
 * @tessera/backend-cuda — importing this module registers the backend "cuda". Its factory loads the addon
 * and opens the device on first use (`await setBackend('cuda')`); where the addon was not built, or there is
 * no GPU or driver, the backend is reported unavailable with the reason (the CUDA error, by name).
 */
import { registerBackend } from '@tessera/tensor';
import { createCudaBackend } from './backend.js';

registerBackend('cuda', () => createCudaBackend(), { priority: 20 });

export { CudaBackend, createCudaBackend, type CudaBackendOptions, type CudaMath, type CudaMemoryReport } from './backend.js';
export type { CudaBuffer } from './kernels.js';
export {
  loadNative,
  nativeStatus,
  hostStatus,
  emulationRequested,
  addonCandidates,
  type DeviceInfo,
  type NativeAddon,
  type NativeMemory,
  type NativeStatus,
} from './native.js';
