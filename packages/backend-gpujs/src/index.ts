/**
 * @tessera/backend-gpujs — importing this module registers the backend "gpujs": every kernel of the catalogue
 * as gpu.js kernels, on WebGL2 in browsers and headless-gl in Node. Its factory opens a GL context on first
 * use (`await setBackend('gpujs')`); where there is no real one, the backend is reported unavailable with the
 * reason.
 */
import { registerBackend } from '@tessera/tensor/backend';
import { GpujsBackend, installKernelFunctions } from './backend.js';
import { openGpuJs } from './platform.js';

export async function createGpujsBackend(opts: { name?: string } = {}): Promise<GpujsBackend> {
  const { gpu, description } = await openGpuJs(installKernelFunctions);
  return new GpujsBackend(gpu, description, opts.name);
}

registerBackend('gpujs', () => createGpujsBackend(), { priority: 5 });

export { GpujsBackend, GpujsBuffer } from './backend.js';
export { openGpuJs } from './platform.js';
