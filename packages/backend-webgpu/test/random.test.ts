// Philox on the GPU against the reference fill (random/philox.ts), beyond the conformance suite: arbitrary
// low/high for `uniform` (the kernel emulates the CPU's float64 arithmetic, so every bit must match),
// counter offsets that carry into the high word, seeds above 2^32, and the bounds of float32.
import { backendByName, philoxFill, type RandomParams } from '@tessera/tensor';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index.js';
import { adapterSkipReason } from './adapter.js';

let skip: string | null = null;
let gpu: WebGpuBackend;
beforeAll(async () => {
  skip = await adapterSkipReason('webgpu');
  if (!skip) gpu = (await backendByName('webgpu')) as WebGpuBackend;
});

async function fill(n: number, p: RandomParams): Promise<{ got: Float32Array; want: Float32Array }> {
  const b = gpu.alloc('float32', n);
  gpu.kernels.random(b, p);
  const got = (await gpu.read(b)) as Float32Array;
  gpu.free(b);
  const want = new Float32Array(n);
  philoxFill(want, p);
  return { got, want };
}

function sameBits(what: string, got: Float32Array, want: Float32Array): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) throw new Error(`${what}: element ${i} is ${got[i]} (0x${g[i]!.toString(16)}), expected ${want[i]} (0x${w[i]!.toString(16)})`);
  }
}

/** Doubles of every magnitude, signs, zeros and values near float32's limits. */
const bound = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -3e38, max: 3e38 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e-36, max: 1e-36 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, 1, -1, 0.1, 1 / 3, 3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38, 1.401298464324817e-45),
);
const offset = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2 ** 32 - 300, max: 2 ** 32 + 10 }), fc.integer({ min: 0, max: 2 ** 50 }));
const seed = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));

describe('Philox random fills', () => {
  it('uniform matches the float64 reference bit for bit for any low and high', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await fc.assert(
      fc.asyncProperty(bound, bound, seed, offset, fc.integer({ min: 1, max: 700 }), async (low, high, s, off, n) => {
        const p: RandomParams = { dist: 'uniform', seed: s, offset: off, low, high };
        const { got, want } = await fill(n, p);
        sameBits(`uniform ${JSON.stringify(p)}`, got, want);
      }),
      { numRuns: 150 },
    );
  });

  it('uniform handles results that overflow, underflow to subnormals, and infinite bounds', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const cases: [number, number][] = [
      [-3e38, 3e38],
      [3e38, 3.5e38],
      [1e-45, 3e-40],
      [-2e-39, 1e-39],
      [-Infinity, 1],
      [0, Infinity],
      [5, 5],
      [7, -2],
    ];
    for (const [low, high] of cases) {
      const { got, want } = await fill(999, { dist: 'uniform', seed: 42, offset: 7, low, high });
      sameBits(`uniform [${low}, ${high})`, got, want);
    }
  });

  it('bernoulli matches exactly and normal to an ulp or two, across counter carries', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await fc.assert(
      fc.asyncProperty(
        seed,
        offset,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: -10, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        async (s, off, prob, mean, std) => {
          const n = 513;
          const b = await fill(n, { dist: 'bernoulli', seed: s, offset: off, p: prob, scale: 1 / (1 - prob / 2) });
          sameBits('bernoulli', b.got, b.want);
          const g = await fill(n, { dist: 'normal', seed: s, offset: off, mean, std });
          for (let i = 0; i < n; i++) {
            const tol = 2e-6 * (1 + Math.abs(mean) + std * 6);
            if (!(Math.abs(g.got[i]! - g.want[i]!) <= tol)) throw new Error(`normal element ${i}: ${g.got[i]} vs ${g.want[i]} (seed ${s}, offset ${off})`);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('normal is accurate where the GPU built-ins are not (u1 near 1, all octants of the angle)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    // 4096 blocks cover every octant many times and u1 arbitrarily close to 1, where log(u1) → 0.
    const { got, want } = await fill(16384, { dist: 'normal', seed: 9, offset: 0, mean: 0, std: 1 });
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThan(2e-6);
  });
});
