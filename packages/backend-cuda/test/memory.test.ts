// The allocator and the error paths on the host emulator, whose device memory is capped here at 64 MiB
// (TESSERA_CUDA_EMULATE_MEMORY): out of memory drops the pool's cache, retries, and only then throws a
// TesseraError, after which the process keeps working; a training loop reaches a steady state with no
// cudaMalloc at all; out-of-range labels and indices reject the next read naming their kernel.
import { onEmulator } from './emulator-target.js';
process.env.TESSERA_CUDA_EMULATE_MEMORY ??= String(64 << 20);
process.env.TESSERA_CUDA_MATH ??= 'fp32';
import { F, TesseraError, backendByName, manualSeed, nn, optim, tensor, tidy } from '@tessera/tensor';
import type { Tensor } from '@tessera/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CudaBackend } from '../src/index.js';
import '../src/index.js';

const MiB = 1 << 20;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

describe.runIf(onEmulator)('cuda allocator and errors (emulated 64 MiB device)', () => {
  let cuda: CudaBackend;
  beforeAll(async () => {
    cuda = (await backendByName('cuda')) as CudaBackend;
    expect(cuda.device.totalMemory).toBe(64 * MiB);
  });

  it('out of memory drops the cache and retries before failing', () => {
    // Fill the pool's cache with freed 8 MiB blocks, then ask for a 40 MiB one: it fits only once the cache
    // has been released.
    const blocks = Array.from({ length: 6 }, () => cuda.alloc('float32', (8 * MiB) / 4));
    blocks.forEach((b) => cuda.free(b));
    expect(cuda.nativeMemory().bytesCached).toBe(48 * MiB);
    const big = cuda.alloc('float32', (40 * MiB) / 4);
    expect(cuda.nativeMemory().bytesCached).toBe(0);
    cuda.free(big);
    cuda.trim();
  });

  it('then throws a TesseraError with the request and free memory, and the backend keeps working', async () => {
    const held = cuda.alloc('float32', (40 * MiB) / 4);
    let err: unknown = null;
    try {
      cuda.alloc('float32', (30 * MiB) / 4);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as Error).message).toMatch(/alloc.*float32\[7864320\].*out of device memory: requested 31457280 bytes.*retried.*bytes free/);
    cuda.free(held);
    const t = tensor(Float32Array.from([1, 2, 3]), [3], { backend: 'cuda' });
    const sq = t.mul(t);
    expect(Array.from(await sq.data())).toEqual([1, 4, 9]);
    [t, sq].forEach((x) => x.dispose());
  });

  it('kernel scratch (split-K partials) that finds the device full releases the cache and retries', async () => {
    cuda.trim();
    // A filter-gradient-shaped GEMM: one output tile, long K, so the kernel splits K and wants 32 KiB of partials.
    const a = tensor(new Float32Array(16 * 8192).fill(0.5), [16, 8192], { backend: 'cuda' });
    const b = tensor(new Float32Array(8192 * 16).fill(0.25), [8192, 16], { backend: 'cuda' });
    // Hold the whole device, then free one block of the output's class (1 KiB) and a few 1 MiB blocks into
    // the pool's cache: the output comes from the cache, the scratch finds the device full.
    const kib = cuda.alloc('float32', 256);
    const held: ReturnType<CudaBackend['alloc']>[] = [];
    for (const elements of [MiB / 4, 128]) {
      for (;;) {
        try {
          held.push(cuda.alloc('float32', elements));
        } catch {
          break;
        }
      }
    }
    expect(cuda.nativeMemory().deviceFree).toBeLessThan(1024);
    cuda.free(kib);
    const mib = held.filter((h) => h.size === MiB / 4).slice(0, 4);
    mib.forEach((h) => cuda.free(h));
    expect(cuda.nativeMemory().bytesCached).toBe(4 * MiB + 1024);
    const c = a.matmul(b);
    const got = await c.data();
    expect(got[0]).toBe(8192 * 0.125);
    const after = cuda.nativeMemory();
    expect(after.scratchBytes).toBeGreaterThanOrEqual(32 * 1024);
    expect(after.bytesCached, 'the launch released the cache to get its scratch').toBe(0);
    held.filter((h) => !mib.includes(h)).forEach((h) => cuda.free(h));
    [a, b, c].forEach((x) => x.dispose());
    cuda.trim();
  });

  it('a training loop allocates nothing from the device after its first step', async () => {
    manualSeed(7);
    const net = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(8 * 8 * 8, 10));
    await net.to('cuda');
    const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = Float32Array.from({ length: 4 * 3 * 16 * 16 }, (_, i) => Math.sin(i));
    const y = Int32Array.from([1, 2, 3, 4]);
    const step = async () => {
      const loss = tidy(() => {
        const l = F.crossEntropy(net.forward(tensor(x, [4, 3, 16, 16], { backend: 'cuda' })), tensor(y, [4], { backend: 'cuda', dtype: 'int32' }));
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l;
      }) as Tensor;
      const v = (await loss.data())[0]!;
      loss.dispose();
      return v;
    };
    await step();
    await step();
    const warm = cuda.nativeMemory().mallocCalls;
    for (let i = 0; i < 3; i++) expect(Number.isFinite(await step())).toBe(true);
    expect(cuda.nativeMemory().mallocCalls).toBe(warm);
  });

  it('an out-of-range label rejects the next read with a TesseraError naming crossEntropy', async () => {
    const logits = tensor(new Float32Array(6), [2, 3], { backend: 'cuda' });
    const labels = tensor(Int32Array.from([1, 7]), [2], { backend: 'cuda', dtype: 'int32' });
    const loss = F.crossEntropy(logits, labels, { reduction: 'none' });
    const err = await rejection(loss.data());
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as Error).message).toMatch(/crossEntropy.*label 7 at row 1 is outside \[0, 3\)/);
    [logits, labels, loss].forEach((t) => t.dispose());
    await cuda.sync(); // the record was consumed: later work is unaffected
  });

  it('an out-of-range index rejects the next sync naming gather, and oneHot likewise', async () => {
    const x = tensor(Float32Array.from([1, 2, 3, 4]), [4], { backend: 'cuda' });
    const idx = tensor(Int32Array.from([0, 9]), [2], { backend: 'cuda', dtype: 'int32' });
    const g = x.indexSelect(0, idx);
    const err = await rejection(cuda.sync());
    expect((err as Error).message).toMatch(/gather.*index 9 at position 1 is outside \[0, 4\)/);
    const oh = F.oneHot(tensor(Int32Array.from([2, -1]), [2], { backend: 'cuda', dtype: 'int32' }), 3);
    const err2 = await rejection(oh.data());
    expect((err2 as Error).message).toMatch(/oneHot.*index -1 at position 1 is outside \[0, 3\)/);
    [x, idx, g, oh].forEach((t) => t.dispose());
    await cuda.sync();
  });
});
