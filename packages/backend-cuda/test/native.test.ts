// The builds and their reports: the GPU addon's status (built by nvcc where present), that it loads, that the
// kernel tables of the TS side, the C++ glue and launch.h agree, that without TESSERA_CUDA_EMULATE `cuda` is
// the real GPU or unavailable with the reason, and that the host emulator opens and says what it is.
import { readFileSync } from 'node:fs';
import { availableBackends } from '@tessera/tensor';
import { describe, expect, it } from 'vitest';
import { CudaBackend } from '../src/backend.js';
import { K } from '../src/kernels.js';
import { hostStatus, loadNative, nativeStatus } from '../src/native.js';
import '../src/index.js';

// This file checks what users get: the variable is unset here (the emulator is opened explicitly below).
delete process.env.TESSERA_CUDA_EMULATE;
const status = nativeStatus();
const host = hostStatus();
const csrc = (f: string) => readFileSync(new URL(`../csrc/${f}`, import.meta.url), 'utf8');

describe('native build', () => {
  it('left a status marker saying whether the addon was built, and why not', () => {
    expect(status, 'build/native-status.json is missing: run npm run build -w @tessera/backend-cuda').not.toBeNull();
    if (!status!.built) expect(status!.reason.length).toBeGreaterThan(0);
    else console.log(`cuda addon built for ${status!.archs?.join(', ')} with ${status!.nvcc} in ${status!.seconds?.toFixed(1)}s`);
  });

  it('the host emulator and its sanitizer build were built', () => {
    expect(host, 'build/host-status.json is missing: run npm run build -w @tessera/backend-cuda').not.toBeNull();
    expect(host!.built, host!.reason).toBe(true);
    const asan = host!.variants?.['host-asan'];
    expect(asan?.built, asan?.reason ?? 'the sanitizer build did not run').toBe(true);
  });

  it('the emulator opens as the cuda backend, names itself, and runs a kernel', async () => {
    const native = loadNative(true);
    expect(native.probe().emulated).toBe(true);
    const backend = new CudaBackend(native, { math: 'fp32' });
    try {
      expect(backend.device.emulated).toBe(true);
      expect(backend.device.name).toMatch(/host emulator/);
      const buf = backend.alloc('float32', 1000);
      backend.kernels.fill(buf, 2.5);
      const data = await backend.read(buf);
      expect(Array.from(data).every((v) => v === 2.5)).toBe(true);
      backend.free(buf);
    } finally {
      backend.dispose();
    }
  });

  it.runIf(status?.built === true)('the GPU addon loads and exposes every kernel', () => {
    const native = loadNative(false);
    const probe = native.probe();
    expect(probe.kernels).toBe(Object.keys(K).filter((k) => Number.isNaN(Number(k))).length);
    expect(probe.runtimeVersionBuilt).toBeGreaterThanOrEqual(11000);
    for (const fn of ['init', 'malloc', 'free', 'write', 'read', 'sync', 'launch', 'memory', 'setTf32', 'trim', 'dispose'] as const) {
      expect(typeof native[fn]).toBe('function');
    }
  });

  it('the kernel ids agree between src/kernels.ts, csrc/launch.h and csrc/addon.cc', () => {
    const tsNames = Object.keys(K).filter((k) => Number.isNaN(Number(k)));
    const enumBody = /enum KernelId \{([\s\S]*?)\};/.exec(csrc('launch.h'))![1]!;
    const headerNames = enumBody
      .split(',')
      .map((s) => s.replace(/=.*/, '').trim())
      .filter((s) => s.startsWith('K_') && s !== 'K_COUNT');
    const camel = (s: string) =>
      s
        .slice(2)
        .toLowerCase()
        .replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    expect(headerNames.map(camel)).toEqual(tsNames);
    const addon = csrc('addon.cc');
    const names = /KERNEL_NAMES\[K_COUNT\] = \{([\s\S]*?)\};/
      .exec(addon)![1]!
      .match(/"([A-Za-z0-9]+)"/g)!
      .map((s) => s.slice(1, -1));
    expect(names).toEqual(tsNames);
    const entries = /KERNELS\[K_COUNT\] = \{([\s\S]*?)\};/.exec(addon)![1]!.match(/launch_[a-z0-9_]+/g)!;
    expect(entries.map((e) => camel('K_' + e.slice('launch_'.length).toUpperCase()))).toEqual(tsNames);
  });
});

describe('availability', () => {
  it('reports cuda, and where it is unavailable says why (the CUDA error, or why the addon was not built)', async () => {
    const cuda = (await availableBackends()).find((b) => b.name === 'cuda');
    expect(cuda).toBeDefined();
    if (cuda!.available) {
      console.log('cuda is available on this machine');
      return;
    }
    console.log(`cuda unavailable: ${cuda!.reason}`);
    if (status?.built) expect(cuda!.reason).toMatch(/cudaGetDeviceCount failed: cudaError[A-Za-z]+: |no CUDA-capable device/);
    else expect(cuda!.reason).toMatch(/the CUDA backend was not built: /);
  });
});
