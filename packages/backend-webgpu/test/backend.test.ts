// The backend's own contract beyond the kernels: registration, lazily batched work with no readback until
// data() is awaited, the buffer pool, errors reported at the next read (bad labels and indices, GPU
// validation errors, device loss), and the dtypes it holds.
import { F, TesseraError, availableBackends, backendByName, memory, rand, registeredBackends, tensor, tidy } from '@tessera/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GpuBuffer, type WebGpuBackend, createWebGpuBackend } from '../src/index.js';
import { adapterSkipReason } from './adapter.js';

let skip: string | null = null;
let gpu: WebGpuBackend;
beforeAll(async () => {
  skip = await adapterSkipReason('webgpu');
  if (!skip) gpu = (await backendByName('webgpu')) as WebGpuBackend;
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('webgpu backend', () => {
  it('registers itself as "webgpu" on import', async (ctx) => {
    expect(registeredBackends()).toContain('webgpu');
    if (skip) return ctx.skip(skip);
    const found = (await availableBackends()).find((b) => b.name === 'webgpu');
    expect(found).toEqual({ name: 'webgpu', available: true, reason: '' });
    expect(gpu.dtypes).toEqual(['float32', 'int32']);
    expect(gpu.adapter.length).toBeGreaterThan(0);
  });

  it('records kernels without submitting or reading back until data() is awaited', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await gpu.sync();
    const batch = gpu.rt.batch;
    const x = tensor(
      new Float32Array(1000).map((_, i) => i),
      [10, 100],
      { backend: 'webgpu' },
    );
    const y = tidy(() => x.mul(2).add(1).relu().sum(1));
    // Nothing was submitted: the work sits in the open command encoder.
    expect(gpu.rt.batch).toBe(batch);
    // Row r sums 2i + 1 over i = 100r … 100r + 99.
    expect(Array.from(await y.data()).slice(0, 2)).toEqual([10000, 30000]);
    expect(gpu.rt.batch).toBe(batch + 1);
    x.dispose();
    y.dispose();
  });

  it('reuses pooled buffers instead of allocating in steady state', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const step = () =>
      tidy(() =>
        rand([64, 64], { backend: 'webgpu', seed: 1 })
          .matmul(rand([64, 64], { backend: 'webgpu', seed: 2 }))
          .sum(),
      );
    for (let i = 0; i < 2; i++) {
      const s = step();
      await s.data();
      s.dispose();
    }
    const before = gpu.memory().bytesReserved;
    // Count device allocations and pipeline builds in steady state: there should be none.
    const device = gpu.device as unknown as Record<string, (...args: unknown[]) => unknown>;
    const counts = { createBuffer: 0, createComputePipeline: 0, createShaderModule: 0 };
    const originals = Object.keys(counts).map((name) => [name, device[name]!] as const);
    for (const [name, fn] of originals) {
      device[name] = (...args: unknown[]) => {
        counts[name as keyof typeof counts]++;
        return fn.apply(gpu.device, args);
      };
    }
    try {
      for (let i = 0; i < 5; i++) {
        const s = step();
        await s.data();
        s.dispose();
      }
      expect(counts).toEqual({ createBuffer: 0, createComputePipeline: 0, createShaderModule: 0 });
      expect(gpu.memory().bytesReserved).toBe(before);
      // The counting itself works: a size never seen before does allocate.
      gpu.free(gpu.alloc('float32', 123457));
      expect(counts.createBuffer).toBe(1);
    } finally {
      for (const [name] of originals) delete device[name];
    }
    expect(memory().backends.webgpu?.tensors ?? 0).toBe(0);
  });

  it('reports an out-of-range label at the next read, naming the op', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const logits = tensor(new Float32Array(12), [3, 4], { backend: 'webgpu' });
    const labels = tensor(new Int32Array([0, 7, 1]), [3], { backend: 'webgpu' });
    const loss = F.crossEntropy(logits, labels, { reduction: 'none' });
    const err = await rejection(loss.data());
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).op).toBe('crossEntropy');
    expect(String(err)).toMatch(/label 7 at row 1 is outside \[0, 4\)/);
    // The error is reported once; later work is unaffected.
    const ok = tensor([1, 2, 3], [3], { backend: 'webgpu' }).mul(2);
    expect(Array.from(await ok.data())).toEqual([2, 4, 6]);
    [logits, labels, loss, ok].forEach((t) => t.dispose());
  });

  it('reports a bad gather index and a bad one-hot class', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const x = tensor(new Float32Array(6), [2, 3], { backend: 'webgpu' });
    const idx = tensor(new Int32Array([0, -1]), [2], { backend: 'webgpu' });
    const g = x.indexSelect(1, idx);
    const err = await rejection(g.data());
    expect((err as TesseraError).op).toBe('gather');
    expect(String(err)).toMatch(/index -1 at position 1 is outside \[0, 3\)/);
    const hot = F.oneHot(tensor(new Int32Array([2, 5]), [2], { backend: 'webgpu' }), 4);
    const err2 = await rejection(gpu.sync());
    expect((err2 as TesseraError).op).toBe('oneHot');
    expect(String(err2)).toMatch(/index 5 at position 1/);
    [x, idx, g, hot].forEach((t) => t.dispose());
  });

  it('surfaces GPU validation errors as TesseraErrors instead of silent zeros', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const x = tensor(new Float32Array(16).fill(1), [16], { backend: 'webgpu' });
    // Sabotage: destroy the device buffer behind a live tensor, then use it.
    (x.buf('test') as GpuBuffer).block.gpu.destroy();
    const y = x.mul(3);
    const err = await rejection(y.data());
    expect(err).toBeInstanceOf(TesseraError);
    expect(String(err)).toMatch(/validation error/i);
    y.dispose();
  });

  it('holds float32 and int32 only, and refuses double frees', async (ctx) => {
    if (skip) return ctx.skip(skip);
    expect(() => gpu.alloc('float64', 4)).toThrow(/float32 and int32 tensors only/);
    const b = gpu.alloc('int32', 4);
    gpu.write(b, new Int32Array([1, -2, 3, 2147483647]));
    expect(Array.from(await gpu.read(b))).toEqual([1, -2, 3, 2147483647]);
    expect(() => gpu.write(b, new Float32Array(4))).toThrow(TesseraError);
    gpu.free(b);
    expect(() => gpu.free(b)).toThrow(/already freed/);
    expect(Array.from(await gpu.read(gpu.alloc('float32', 0)))).toEqual([]);
  });

  it('turns a lost device into TesseraErrors for pending and later work', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const lost = await createWebGpuBackend({ name: 'webgpu-lost' });
    const a = lost.alloc('float32', 4);
    lost.write(a, new Float32Array([1, 2, 3, 4]));
    lost.device.destroy();
    await lost.device.lost;
    await Promise.resolve();
    expect(() => lost.kernels.fill(a, 1)).toThrow(/device was lost/);
    const err = await rejection(lost.read(a));
    expect(err).toBeInstanceOf(TesseraError);
    expect(String(err)).toMatch(/device was lost/);
  });

  it('says why it is unavailable when the platform offers no adapter', async () => {
    const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: { requestAdapter: async () => null } }, configurable: true, writable: true });
    try {
      await expect(createWebGpuBackend({ name: 'webgpu-none' })).rejects.toThrow(/no WebGPU adapter found/);
    } finally {
      if (nav) Object.defineProperty(globalThis, 'navigator', nav);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });
});
