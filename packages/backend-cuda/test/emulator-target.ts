// Imported first by every suite that executes kernels: without a GPU they run on the host emulator (the same
// kernel sources built by the host compiler, csrc/host/). TESSERA_CUDA_EMULATE=0 runs them on a real device.
process.env.TESSERA_CUDA_EMULATE ??= '1';

/** Whether this run executes on the host emulator rather than a GPU. */
export const onEmulator = process.env.TESSERA_CUDA_EMULATE === '1';
