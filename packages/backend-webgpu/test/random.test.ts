// Philox on the GPU against the reference fill (random/philox.ts), beyond the conformance suite: arbitrary
// finite low/high for `uniform` (defined by float32 operations, so every bit must match), bounds near
// float32's subnormals (which SwiftShader flushes) and near its limits, counter offsets that carry into the high word, seeds above 2^32,
// the rejection of bounds without a finite float32 range, and normal draws where WGSL's built-in log, sin and
// cos are least accurate.
import { TesseraError, backendByName, philoxFill, type RandomParams } from '@tessera/tensor';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index.js';
import { adapterSkipReason } from './adapter.js';

/** NORMAL_TOLERANCE of random/philox.ts (the toolkit does not re-export it yet): |Δ| ≤ atol·|std| + rtol·(|want| + |mean|). */
const NORMAL_ATOL = 2e-6;
const NORMAL_RTOL = 4e-7;

let skip: string | null = null;
let gpu: WebGpuBackend;
beforeAll(async () => {
  skip = await adapterSkipReason('webgpu');
  if (!skip) gpu = (await backendByName('webgpu')) as WebGpuBackend;
});

async function fill(n: number, p: RandomParams): Promise<{ got: Float32Array; want: Float32Array }> {
  const want = new Float32Array(n);
  philoxFill(want, p);
  const b = gpu.alloc('float32', n);
  try {
    gpu.kernels.random(b, p);
    return { got: (await gpu.read(b)) as Float32Array, want };
  } finally {
    gpu.free(b);
  }
}

function sameBits(what: string, got: Float32Array, want: Float32Array): void {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) throw new Error(`${what}: element ${i} is ${got[i]} (0x${g[i]!.toString(16)}), expected ${want[i]} (0x${w[i]!.toString(16)})`);
  }
}

/** Whether the reference rejects `p` (e.g. a subnormal bound); if so the GPU must reject it the same way. */
function rejected(p: RandomParams): boolean {
  let error: unknown = null;
  try {
    philoxFill(new Float32Array(1), p);
  } catch (err) {
    error = err;
  }
  if (error === null) return false;
  const b = gpu.alloc('float32', 1);
  try {
    expect(() => gpu.kernels.random(b, p)).toThrow((error as Error).message);
  } finally {
    gpu.free(b);
  }
  return true;
}

/** The largest |got − want| as a fraction of the stated normal bound (≤ 1 passes). */
function normalExcess(got: Float32Array, want: Float32Array, mean: number, std: number): { worst: number; at: number } {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    if (got[i] === want[i]) continue;
    const ratio = Math.abs(got[i]! - want[i]!) / (NORMAL_ATOL * Math.abs(std) + NORMAL_RTOL * (Math.abs(want[i]!) + Math.abs(mean)));
    if (!(ratio <= worst)) {
      worst = Number.isNaN(ratio) ? Infinity : ratio;
      at = i;
    }
  }
  return { worst, at };
}

/** Bounds of every magnitude whose float32 range is finite, signs, zeros and values near float32's limits. */
const bound = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1.7e38, max: 1.7e38 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e-28, max: 1e-28 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, 1, -1, 0.1, 1 / 3, 1.7e38, -1.7e38, 1.1754943508222875e-38, 1.401298464324817e-45),
);
const offset = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2 ** 32 - 300, max: 2 ** 32 + 10 }), fc.integer({ min: 0, max: 2 ** 50 }));
const seed = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));

describe('Philox random fills', () => {
  it('uniform matches the reference bit for bit for any finite low and high', async (ctx) => {
    if (skip) return ctx.skip(skip);
    await fc.assert(
      fc.asyncProperty(bound, bound, seed, offset, fc.integer({ min: 1, max: 700 }), async (low, high, s, off, n) => {
        const p: RandomParams = { dist: 'uniform', seed: s, offset: off, low, high };
        if (rejected(p)) return;
        const { got, want } = await fill(n, p);
        sameBits(`uniform ${JSON.stringify(p)}`, got, want);
      }),
      { numRuns: 150 },
    );
  });

  it('uniform is exact for bounds near float32 subnormals and limits, at high, and for empty or reversed bounds', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const cases: [number, number][] = [
      // Bounds at float32's smallest normals: draws never leave a subnormal, flushing device or not.
      [2 ** -126, 2 ** -100],
      [-(2 ** -100), 2 ** -126],
      [-(2 ** -100), 0],
      [-(2 ** -101), 2 ** -102],
      [0, 2 ** -103],
      [5, 5 + 1e-10],
      [3e38, 3.4e38],
      [-1.7e38, 1.7e38],
      // lo + range·u rounds up to high for u close to 1: those elements take the float32 below high.
      [1e8, 1e8 + 64],
      [5, 5],
      [7, -2],
    ];
    for (const [low, high] of cases) {
      const { got, want } = await fill(4099, { dist: 'uniform', seed: 42, offset: 7, low, high });
      sameBits(`uniform [${low}, ${high})`, got, want);
    }
  });

  it('uniform bounds without a finite float32 range, or in the subnormals, are a TesseraError, as on the CPU', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const b = gpu.alloc('float32', 8);
    try {
      for (const [low, high] of [
        [-Infinity, 1],
        [0, Infinity],
        [0, NaN],
        [-3e38, 3e38],
        [0, 3.5e38],
        // Subnormal bounds, or narrower than 2⁻¹⁰³ (products would be subnormal).
        [1e-45, 1],
        [0, 1e-35],
      ] as const) {
        const p: RandomParams = { dist: 'uniform', seed: 1, offset: 0, low, high };
        expect(() => philoxFill(new Float32Array(8), p)).toThrow(TesseraError);
        expect(() => gpu.kernels.random(b, p)).toThrow(TesseraError);
      }
      expect(() => gpu.kernels.random(b, { dist: 'normal', seed: 1, offset: 0, mean: 0, std: Infinity })).toThrow(TesseraError);
    } finally {
      gpu.free(b);
    }
  });

  it('bernoulli matches exactly and normal within the stated bound, across counter carries', async (ctx) => {
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
          const { worst, at } = normalExcess(g.got, g.want, mean, std);
          if (worst > 1) throw new Error(`normal element ${at}: ${g.got[at]} vs ${g.want[at]} (seed ${s}, offset ${off}), ${worst.toFixed(2)}× the bound`);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('normal stays within the bound where the built-ins are weakest (u1 near 1, every octant of the angle)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    // 2^18 pairs: u1 within 2⁻¹⁸ of 1 (where log(u1) → 0) about once, the angle's eight octants ~2^15 times each,
    // and u just above 2⁻⁶, where the series hands over to the native log.
    for (const [mean, std] of [
      [0, 1],
      [-3, 0.01],
    ] as const) {
      const { got, want } = await fill(1 << 19, { dist: 'normal', seed: 9, offset: 0, mean, std });
      const { worst, at } = normalExcess(got, want, mean, std);
      expect(worst, `element ${at}: ${got[at]} vs ${want[at]}`).toBeLessThanOrEqual(1);
      expect(got.every(Number.isFinite)).toBe(true);
    }
  });
});
