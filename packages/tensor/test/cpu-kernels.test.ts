/**
 * CPU backend kernels against naive, obviously-correct reference loops written here, over generated shapes;
 * finite-difference checks of the backward kernels in float64; Philox known-answer vectors.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Conv2dParams, LrnParams, Pool2dParams, RandomParams } from '../src/backend/kernels.js';
import { BINARY_OPS, UNARY_OPS } from '../src/backend/kernels.js';
import { type CpuBuffer, createCpuBackend } from '../src/cpu/index.js';
import { ThreadPool } from '../src/cpu/threads.js';
import type { DType, TypedArray } from '../src/dtype.js';
import { TesseraError } from '../src/errors.js';
import { philox4x32, uniformFromBits } from '../src/random/philox.js';
import { broadcastShapes, broadcastStrides, contiguousStrides, sizeOf } from '../src/shape.js';

const be = createCpuBackend({ threads: 1 });
const k = be.kernels;
afterAll(() => be.dispose());

type FloatDType = 'float32' | 'float64';

/** Deterministic data: mulberry32 in [-1, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

function typed(dtype: DType, values: ArrayLike<number>): TypedArray {
  if (dtype === 'float32') return Float32Array.from(values);
  if (dtype === 'float64') return Float64Array.from(values);
  return Int32Array.from(values);
}

function buf(dtype: DType, values: ArrayLike<number>): CpuBuffer {
  const b = be.alloc(dtype, values.length);
  be.write(b, typed(dtype, values));
  return b;
}

function randBuf(dtype: DType, size: number, seed: number, scale = 1): CpuBuffer {
  const r = rng(seed);
  return buf(
    dtype,
    Array.from({ length: size }, () => (dtype === 'int32' ? Math.round(r() * 5) : r() * scale)),
  );
}

/** Values of a buffer as stored (so references see exactly what the kernel saw). */
function vals(b: CpuBuffer): number[] {
  return Array.from(b.data);
}

function tolFor(dtype: DType): number {
  return dtype === 'float32' ? 2e-6 : 1e-12;
}

/** Throws (so fast-check can shrink) at the first element outside tol·(1 + |want|); NaN must match NaN. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = ''): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} vs ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) ? !Number.isNaN(g) : !(Math.abs(g - w) <= tol * (1 + Math.abs(w))) && g !== w) {
      throw new Error(`${what}: element ${i} is ${g}, expected ${w}`);
    }
  }
}

/** Exact (float64) sums of products with what bounds their float32 rounding error: Σ|a·b| and the term count. */
class ProductSums {
  readonly sum: Float64Array;
  readonly abs: Float64Array;
  readonly terms: Int32Array;
  constructor(size: number, init?: ArrayLike<number>) {
    this.sum = init ? Float64Array.from(init) : new Float64Array(size);
    this.abs = this.sum.map(Math.abs);
    this.terms = new Int32Array(size).fill(init ? 1 : 0);
  }
  add(i: number, a: number, b: number): void {
    this.sum[i] = this.sum[i]! + a * b;
    this.abs[i] = this.abs[i]! + Math.abs(a * b);
    this.terms[i] = this.terms[i]! + 1;
  }
}

/**
 * A kernel's sums of products against the exact ones. float64 (the reference path, accumulating in double):
 * tolFor's 1e-12. float32, which accumulates in float32 in any order the blocking picks: the worst-case bound
 * of float32 products and recursive summation of t terms, γ(t)·Σ|a·b| with γ(t) = t·u/(1 − t·u), u = 2⁻²⁴
 * (Higham, Accuracy and Stability, §3.1), plus the final rounding u·|sum|. A wrong, dropped or doubled term of
 * typical size exceeds it by orders of magnitude at the sizes tested here.
 */
function expectProductSums(dtype: DType, got: ArrayLike<number>, want: ProductSums, what: string): void {
  if (dtype !== 'float32') {
    expectClose(got, Array.from(typed(dtype, want.sum)), tolFor(dtype), what);
    return;
  }
  const u = 2 ** -24;
  if (got.length !== want.sum.length) throw new Error(`${what}: length ${got.length} vs ${want.sum.length}`);
  for (let i = 0; i < got.length; i++) {
    const t = want.terms[i]! + 1;
    const bound = ((t * u) / (1 - t * u)) * want.abs[i]! + u * Math.abs(want.sum[i]!);
    if (!(Math.abs(got[i]! - want.sum[i]!) <= bound)) {
      throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want.sum[i]} within ${bound} (${want.terms[i]} terms)`);
    }
  }
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

const dot = (idx: readonly number[], strides: readonly number[]): number => idx.reduce((s, v, d) => s + v * strides[d]!, 0);

const floatDType = fc.constantFrom<FloatDType>('float32', 'float64');
const shapeArb = (maxRank: number, maxDim: number) => fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: 0, maxLength: maxRank });

describe('philox4x32-10', () => {
  it('matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect(Array.from(out)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect(Array.from(out)).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect(Array.from(out)).toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  it('u(x) is the bitcast of the top 23 bits into [1, 2), minus one', () => {
    const view = new DataView(new ArrayBuffer(4));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (x) => {
        view.setUint32(0, ((x >>> 9) | 0x3f800000) >>> 0);
        expect(uniformFromBits(x)).toBe(view.getFloat32(0) - 1);
      }),
    );
    expect(uniformFromBits(0)).toBe(0);
    expect(uniformFromBits(0xffffffff)).toBe(1 - 2 ** -23);
  });

  it('random fills follow the documented stream', () => {
    // Lane i mod 4 of block offset + ⌊i/4⌋, keyed by the seed's two words; float64 outputs use float64 steps.
    const seed = 2 ** 32 * 3 + 12345;
    const out = be.alloc('float64', 10);
    k.random(out, { dist: 'uniform', seed, offset: 7, low: -2, high: 3 });
    const words = new Uint32Array(4);
    const want: number[] = [];
    for (let i = 0; i < 10; i++) {
      philox4x32(7 + Math.floor(i / 4), 0, 0, 0, 12345, 3, words);
      want.push(-2 + 5 * ((words[i % 4]! >>> 9) * 2 ** -23));
    }
    expect(vals(out)).toEqual(want);
    // A later offset continues the same stream.
    const tail = be.alloc('float64', 2);
    k.random(tail, { dist: 'uniform', seed, offset: 9, low: -2, high: 3 });
    expect(vals(tail)).toEqual(vals(out).slice(8, 10));
  });

  // Values computed independently (Python: Philox in integers, numpy float32 arithmetic, struct bitcasts).
  it('float32 uniform, bernoulli and normal reproduce an independent implementation of the spec', () => {
    const seed = 2 ** 32 * 3 + 12345;
    const u = be.alloc('float32', 10);
    k.random(u, { dist: 'uniform', seed, offset: 7, low: -2, high: 3 });
    expect(Array.from(new Uint32Array((u.data as Float32Array).slice().buffer))).toEqual([
      0x3d318b00, 0x3f3c00d0, 0xbee646f4, 0xbf59104a, 0x3f2d3778, 0x4039fcec, 0x3eaca170, 0x3f7572e0, 0xbf7a7690, 0x3f11e548,
    ]);
    const b = be.alloc('float32', 12);
    k.random(b, { dist: 'bernoulli', seed: 3, offset: 0, p: 0.3, scale: 2.5 });
    expect(vals(b)).toEqual([0, 2.5, 0, 0, 2.5, 0, 2.5, 0, 0, 0, 0, 0]);
    const z = be.alloc('float32', 8);
    k.random(z, { dist: 'normal', seed: 2, offset: 5, mean: 1, std: 2 });
    const wantZ = [
      -2.7785234451293945, -2.0892257690429688, 0.7336449027061462, 2.686779022216797, 1.1070106029510498, 0.7597394585609436, 1.3702998161315918,
      0.35781049728393555,
    ];
    expect(vals(z)).toEqual(wantZ);
  });

  it('uniform stays in [low, high), replacing values that round up to high by the float below it', () => {
    // With lo = 1e8 (ulp 8) and range 64, lo + range·u rounds to lo + 64 = high for u close to 1.
    const n = 4000;
    const out = be.alloc('float32', n);
    k.random(out, { dist: 'uniform', seed: 11, offset: 0, low: 1e8, high: 1e8 + 64 });
    const v = vals(out);
    expect(v.every((x) => x >= 1e8 && x < 1e8 + 64)).toBe(true);
    expect(v.filter((x) => x === 1e8 + 56).length).toBeGreaterThan(n / 16);
    // Every value is the documented float32 expression (or its replacement), for arbitrary finite bounds.
    const ftz = (x: number) => (Math.abs(x) < 2 ** -126 ? 0 : x);
    const bits = new Float32Array(1);
    const bitsI = new Int32Array(bits.buffer);
    const step = (x: number, up: boolean): number => {
      if (x === 0) return up ? 2 ** -149 : -(2 ** -149);
      bits[0] = x;
      bitsI[0] = bitsI[0]! + (up === x > 0 ? 1 : -1);
      return bits[0]!;
    };
    const tiny = fc.double({ min: -1e-30, max: 1e-30, noNaN: true });
    const wide = fc.double({ min: -1e30, max: 1e30, noNaN: true });
    fc.assert(
      fc.property(fc.oneof(wide, tiny), fc.oneof(wide, tiny), fc.nat(), (low, high, s) => {
        const lo = Math.fround(low);
        const hi = Math.fround(high);
        const range = Math.fround(hi - lo);
        const o = be.alloc('float32', 9);
        const p: RandomParams = { dist: 'uniform', seed: s, offset: 3, low, high };
        const subnormal = (x: number) => x !== 0 && Math.abs(x) < 2 ** -126;
        if (subnormal(low) || subnormal(high)) return void expect(() => k.random(o, p)).toThrow(/at least 2⁻¹²⁶/);
        if (range !== 0 && Math.abs(range) < 2 ** -103) return void expect(() => k.random(o, p)).toThrow(/narrower than 2⁻¹⁰³/);
        k.random(o, p);
        const words = new Uint32Array(4);
        // The smallest float32 ≥ high, and the largest zero-or-normal float32 below it.
        const threshold = hi >= high ? hi : step(hi, true);
        const replacement = threshold === 0 ? -(2 ** -126) : ftz(step(threshold, false));
        for (let i = 0; i < 9; i++) {
          philox4x32(3 + Math.floor(i / 4), 0, 0, 0, s >>> 0, Math.floor(s / 2 ** 32), words);
          let want = ftz(Math.fround(lo + Math.fround(range * ((words[i % 4]! >>> 9) * 2 ** -23))));
          if (high > low && want >= threshold) want = replacement;
          expect(Object.is(o.data[i], want)).toBe(true);
          expect(o.data[i] === 0 || Math.abs(o.data[i]!) >= 2 ** -126).toBe(true);
          if (high > low) expect(o.data[i]).toBeLessThan(high);
        }
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });

  it('float32 subnormals never reach an output (GPUs may flush them)', () => {
    const out = be.alloc('float32', 64);
    // Every draw of [0, 2⁻¹⁰⁰) is 0 or a normal multiple of range·2⁻²³ = 2⁻¹²³.
    k.random(out, { dist: 'uniform', seed: 5, offset: 0, low: 0, high: 2 ** -100 });
    expect(vals(out).every((v) => Object.is(v, 0) || (v >= 2 ** -123 && v < 2 ** -100))).toBe(true);
    // Subnormal bounds, and ranges whose products would be subnormal, are rejected.
    expect(() => k.random(out, { dist: 'uniform', seed: 5, offset: 0, low: -1e-40, high: 1 })).toThrow(TesseraError);
    expect(() => k.random(out, { dist: 'uniform', seed: 5, offset: 0, low: 0, high: 1e-35 })).toThrow(TesseraError);
    // Where high rounds down to a float32 below it, that float32 is a valid draw and not replaced.
    k.random(out, { dist: 'uniform', seed: 5, offset: 0, low: 5, high: 5 + 1e-10 });
    expect(vals(out).every((v) => v === 5)).toBe(true);
    // A subnormal keep probability is 0; a subnormal std leaves the mean.
    k.random(out, { dist: 'bernoulli', seed: 5, offset: 0, p: 1e-40, scale: 1 });
    expect(vals(out).every((v) => v === 0)).toBe(true);
    k.random(out, { dist: 'normal', seed: 5, offset: 0, mean: 3, std: 1e-40 });
    expect(vals(out).every((v) => v === 3)).toBe(true);
  });

  it('bounds, mean and std without a finite value are rejected', () => {
    const out = be.alloc('float32', 4);
    const base = { seed: 0, offset: 0 };
    expect(() => k.random(out, { ...base, dist: 'uniform', low: -Infinity, high: 1 })).toThrow(TesseraError);
    expect(() => k.random(out, { ...base, dist: 'uniform', low: 0, high: NaN })).toThrow(TesseraError);
    expect(() => k.random(out, { ...base, dist: 'uniform', low: 0, high: 3.5e38 })).toThrow(/finite/);
    expect(() => k.random(out, { ...base, dist: 'uniform', low: -3e38, high: 3e38 })).toThrow(/overflows float32/);
    expect(() => k.random(out, { ...base, dist: 'normal', mean: 0, std: Infinity })).toThrow(TesseraError);
    // float64 has the range float32 lacks.
    const wide = be.alloc('float64', 64);
    k.random(wide, { ...base, dist: 'uniform', low: -3e38, high: 3e38 });
    expect(vals(wide).every((x) => x >= -3e38 && x < 3e38)).toBe(true);
  });

  it('float32 and float64 fills share their masks, and their uniforms and normals up to float32 rounding', () => {
    const n = 1001;
    const pair = (p: RandomParams): [number[], number[]] => {
      const a = be.alloc('float32', n);
      const b = be.alloc('float64', n);
      k.random(a, p);
      k.random(b, p);
      return [vals(a), vals(b)];
    };
    const [m32, m64] = pair({ dist: 'bernoulli', seed: 8, offset: 2, p: 0.7, scale: 1 / 0.7 });
    expect(m32.map((v) => v !== 0)).toEqual(m64.map((v) => v !== 0));
    const [u32, u64] = pair({ dist: 'uniform', seed: 8, offset: 2, low: -1, high: 1 });
    expect(u32).toEqual(u64.map(Math.fround));
    const [z32, z64] = pair({ dist: 'normal', seed: 8, offset: 2, mean: 0, std: 1 });
    expectClose(z32, z64, 2e-6, 'normal float32 vs float64');
  });

  it('uniform, normal and bernoulli have the right distributions', () => {
    const n = 100_000;
    const u = be.alloc('float32', n);
    k.random(u, { dist: 'uniform', seed: 1, offset: 0, low: 2, high: 4 });
    const uv = vals(u);
    expect(Math.min(...uv)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...uv)).toBeLessThan(4);
    expect(Math.abs(uv.reduce((s, v) => s + v, 0) / n - 3)).toBeLessThan(0.01);
    const z = be.alloc('float64', n);
    k.random(z, { dist: 'normal', seed: 2, offset: 0, mean: 1, std: 2 });
    const zv = vals(z);
    const mean = zv.reduce((s, v) => s + v, 0) / n;
    const sd = Math.sqrt(zv.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    expect(Math.abs(mean - 1)).toBeLessThan(0.03);
    expect(Math.abs(sd - 2)).toBeLessThan(0.03);
    const b = be.alloc('float32', n);
    k.random(b, { dist: 'bernoulli', seed: 3, offset: 0, p: 0.3, scale: 2.5 });
    const bv = vals(b);
    expect(bv.every((v) => v === 0 || v === 2.5)).toBe(true);
    expect(Math.abs(bv.filter((v) => v !== 0).length / n - 0.3)).toBeLessThan(0.01);
    expect(() => k.random(be.alloc('int32', 4), { dist: 'uniform', seed: 0, offset: 0, low: 0, high: 1 })).toThrow(TesseraError);
  });
});

describe('backend', () => {
  it('allocates, pools, reads copies and reports memory truthfully', async () => {
    const b2 = createCpuBackend({ threads: 1 });
    // 400 bytes live in a 448-byte (64-byte granule) storage class.
    const a = b2.alloc('float32', 100);
    expect(a.data.buffer).toBeInstanceOf(ArrayBuffer);
    expect(b2.memory()).toEqual({ bytesInUse: 400, bytesReserved: 448 });
    b2.write(a, new Float32Array(100).fill(1.5));
    const copy = await b2.read(a);
    expect(copy).toBeInstanceOf(Float32Array);
    copy[0] = 7;
    expect(a.data[0]).toBe(1.5);
    b2.free(a);
    expect(b2.memory()).toEqual({ bytesInUse: 0, bytesReserved: 448 });
    // The pooled storage is reused, for another dtype and a slightly smaller size of the same class.
    const c = b2.alloc('int32', 99);
    expect(c.data.buffer).toBe(a.data.buffer);
    expect(c.data.length).toBe(99);
    expect(b2.memory()).toEqual({ bytesInUse: 396, bytesReserved: 448 });
    expect(() => b2.free(a)).toThrow(TesseraError);
    b2.free(c);
    expect(() => b2.free(c)).toThrow(/freed twice/);
    // Large sizes round up by at most 1/8.
    const big = b2.alloc('float64', 300_001);
    expect(big.data.buffer.byteLength).toBeGreaterThanOrEqual(2_400_008);
    expect(big.data.buffer.byteLength).toBeLessThanOrEqual(2_400_008 * 1.125);
    b2.free(big);
    b2.trim();
    expect(b2.memory()).toEqual({ bytesInUse: 0, bytesReserved: 0 });
    expect(() => b2.write(b2.alloc('float32', 3), new Float32Array(4))).toThrow(TesseraError);
    expect(() => b2.write(b2.alloc('float32', 3), new Int32Array(3))).toThrow(TesseraError);
    expect(() => b2.alloc('float32', -1)).toThrow(TesseraError);
    const empty = b2.alloc('float32', 0);
    expect(await b2.read(empty)).toEqual(new Float32Array(0));
    await b2.sync();
    const none = createCpuBackend({ threads: 1, poolBytes: 0 });
    none.free(none.alloc('float64', 10));
    expect(none.memory()).toEqual({ bytesInUse: 0, bytesReserved: 0 });
    b2.dispose();
    expect(() => b2.alloc('float32', 1)).toThrow(TesseraError);
  });

  it('keeps shared storage for reuse until trim, however large the pool grows', () => {
    const shared = createCpuBackend({ threads: 2, poolBytes: 0 });
    try {
      const a = shared.alloc('float32', 1 << 20);
      expect(a.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      const storage = a.data.buffer;
      shared.free(a);
      expect(shared.memory()).toEqual({ bytesInUse: 0, bytesReserved: 4 << 20 });
      expect(shared.alloc('float32', 1 << 20).data.buffer).toBe(storage);
      shared.trim();
      expect(shared.memory()).toEqual({ bytesInUse: 4 << 20, bytesReserved: 4 << 20 });
    } finally {
      shared.dispose();
    }
  });
});

describe('worker threads', () => {
  it('report a failing task as a TesseraError and stay usable', async () => {
    const pool = ThreadPool.create(1, null)!;
    expect(pool).not.toBeNull();
    try {
      while (pool.booting() > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const slots = pool.ready();
      expect(slots).toHaveLength(1);
      let ranLocally = false;
      expect(() => pool.run(slots, [['noSuchTask']], () => (ranLocally = true))).toThrow(/a worker thread failed: TypeError/);
      expect(ranLocally).toBe(true);
      const C = new Float64Array(new SharedArrayBuffer(8 * 4));
      const A = new Float64Array(new SharedArrayBuffer(8 * 4)).fill(2);
      pool.run(slots, [['gemm', 2, 2, 2, A, 0, 2, 1, A, 0, 2, 1, C, 0, 2, 0]], () => {});
      expect(Array.from(C)).toEqual([8, 8, 8, 8]);
      // Arrays outside shared memory are refused before anything is posted.
      expect(() => pool.run(slots, [['gemm', 2, 2, 2, new Float64Array(4), 0, 2, 1, A, 0, 2, 1, C, 0, 2, 0]], () => {})).toThrow(/shared memory/);
    } finally {
      pool.dispose();
    }
  });
});

describe('elementwise', () => {
  const unaryRef: Record<string, (v: number) => number> = {
    neg: (v) => -v,
    abs: Math.abs,
    sign: Math.sign,
    exp: Math.exp,
    log: Math.log,
    sqrt: Math.sqrt,
    rsqrt: (v) => 1 / Math.sqrt(v),
    square: (v) => v * v,
    reciprocal: (v) => 1 / v,
    relu: (v) => (Number.isNaN(v) ? NaN : Math.max(v, 0)),
    tanh: Math.tanh,
    sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  };

  it('fill casts to the output dtype', () => {
    const i = be.alloc('int32', 3);
    k.fill(i, 2.7);
    expect(vals(i)).toEqual([2, 2, 2]);
    const f = be.alloc('float32', 2);
    k.fill(f, 0.1);
    expect(vals(f)).toEqual([Math.fround(0.1), Math.fround(0.1)]);
  });

  it('unary ops match Math', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = buf(dtype, [-3, -1.5, -0.25, 0, 0.5, 2, 40, -40, NaN]);
      for (const op of UNARY_OPS) {
        const out = be.alloc(dtype, 9);
        k.unary(op, x, out);
        const want = vals(x).map(unaryRef[op]!);
        expectClose(vals(out), dtype === 'float32' ? want.map(Math.fround) : want, tolFor(dtype), op);
      }
    }
  });

  const binaryRef: Record<string, (a: number, b: number) => number> = {
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    mul: (a, b) => a * b,
    div: (a, b) => a / b,
    pow: Math.pow,
    maximum: Math.max,
    minimum: Math.min,
    eq: (a, b) => +(a === b),
    ne: (a, b) => +(a !== b),
    lt: (a, b) => +(a < b),
    le: (a, b) => +(a <= b),
    gt: (a, b) => +(a > b),
    ge: (a, b) => +(a >= b),
  };

  it('binary ops broadcast like NumPy', () => {
    fc.assert(
      fc.property(
        shapeArb(5, 4),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.nat(2),
        fc.nat(2),
        fc.constantFrom<DType>('float32', 'float64', 'int32'),
        fc.integer(),
        (outShape, keepA, keepB, dropA, dropB, dtype, seed) => {
          // Operand shapes: the output shape with some dims set to 1 and some leading dims dropped.
          const aShape = outShape.map((d, i) => (keepA[i] ? d : 1)).slice(Math.min(dropA, outShape.length));
          const bShape = outShape.map((d, i) => (keepB[i] ? d : 1)).slice(Math.min(dropB, outShape.length));
          const fullShape = broadcastShapes(aShape, bShape, 'test');
          const a = randBuf(dtype, sizeOf(aShape), seed, 3);
          const b = randBuf(dtype, sizeOf(bShape), seed + 1, 3);
          // Make some elements equal so comparisons see ties.
          if (b.size > 0 && a.size > 0) b.data[0] = a.data[0]!;
          const p = { outShape: fullShape, aStrides: broadcastStrides(aShape, fullShape), bStrides: broadcastStrides(bShape, fullShape) };
          for (const op of BINARY_OPS) {
            if (dtype === 'int32' && (op === 'div' || op === 'pow')) continue;
            const out = be.alloc(dtype, sizeOf(fullShape));
            k.binary(op, a, b, out, p);
            const want: number[] = [];
            for (let f = 0; f < out.size; f++) {
              const idx = unravel(f, fullShape);
              want.push(binaryRef[op]!(a.data[dot(idx, p.aStrides)]!, b.data[dot(idx, p.bStrides)]!));
            }
            expectClose(vals(out), Array.from(typed(dtype, want)), tolFor(dtype), op);
            be.free(out);
          }
          be.free(a);
          be.free(b);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('copy', () => {
  it('strided copies with offsets, permutations, stride-0 expands and casts', () => {
    fc.assert(
      fc.property(
        shapeArb(6, 4),
        fc.integer(),
        fc.constantFrom<DType>('float32', 'float64', 'int32'),
        fc.constantFrom<DType>('float32', 'float64', 'int32'),
        fc.nat(5),
        fc.nat(5),
        fc.boolean(),
        (shape, seed, inType, outType, inOffset, outOffset, expand) => {
          const rank = shape.length;
          const r = rng(seed);
          // Input: a permuted, padded layout (some dims expanded with stride 0); output: padded row-major.
          const perm = Array.from({ length: rank }, (_, i) => i).sort(() => r());
          const padded = shape.map((d) => d + (r() > 0.5 ? 1 : 0));
          const base = contiguousStrides(perm.map((p) => padded[p]!));
          const inStrides = shape.map((_, d) => (expand && r() > 0.6 ? 0 : base[perm.indexOf(d)]!));
          const outPadded = shape.map((d) => d + (r() > 0.5 ? 2 : 0));
          const outStrides = contiguousStrides(outPadded);
          const x = randBuf(inType, inOffset + sizeOf(padded), seed + 1, 10);
          const out = randBuf(outType, outOffset + sizeOf(outPadded), seed + 2, 10);
          const want = typed(outType, vals(out));
          for (let f = 0; f < sizeOf(shape); f++) {
            const idx = unravel(f, shape);
            want[outOffset + dot(idx, outStrides)] = x.data[inOffset + dot(idx, inStrides)]!;
          }
          k.copy(x, out, { shape, inStrides, inOffset, outStrides, outOffset });
          expect(vals(out)).toEqual(Array.from(want));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('permutes larger tensors (the tiled transpose path)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 4 }).filter((s) => sizeOf(s) <= 40_000),
        fc.integer(),
        fc.constantFrom<DType>('float32', 'int32'),
        (shape, seed, dtype) => {
          const r = rng(seed);
          const rank = shape.length;
          const perm = Array.from({ length: rank }, (_, i) => i).sort(() => r());
          // out = x.permute(perm): out dim d reads x dim perm[d].
          const xStrides = contiguousStrides(shape);
          const outShape = perm.map((q) => shape[q]!);
          const inStrides = perm.map((q) => xStrides[q]!);
          const outStrides = contiguousStrides(outShape);
          const x = randBuf(dtype, sizeOf(shape), seed, 100);
          const out = be.alloc(dtype, x.size);
          k.copy(x, out, { shape: outShape, inStrides, inOffset: 0, outStrides, outOffset: 0 });
          const want = new Array<number>(x.size);
          for (let f = 0; f < x.size; f++) want[f] = x.data[dot(unravel(f, outShape), inStrides)]!;
          expect(vals(out)).toEqual(want);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('copies long contiguous runs (the TypedArray.set path) with casting', () => {
    const x = randBuf('float64', 1000, 5, 100);
    const out = be.alloc('int32', 1000);
    k.copy(x, out, { shape: [10, 100], inStrides: [100, 1], inOffset: 0, outStrides: [100, 1], outOffset: 0 });
    expect(vals(out)).toEqual(vals(x).map((v) => Math.trunc(v) | 0));
  });
});

describe('reductions', () => {
  it('sum / max / min over arbitrary axis sets', () => {
    fc.assert(
      fc.property(shapeArb(5, 4), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), fc.integer(), floatDType, (shape, pick, seed, dtype) => {
        const axes = shape.map((_, i) => i).filter((i) => pick[i]);
        const outShape = shape.filter((_, i) => !pick[i]);
        const x = randBuf(dtype, sizeOf(shape), seed, 5);
        for (const op of ['sum', 'max', 'min'] as const) {
          const out = be.alloc(dtype, sizeOf(outShape));
          k.reduce(op, x, out, { shape, axes });
          const want = new Array<number>(out.size).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
          const outStrides = contiguousStrides(outShape);
          for (let f = 0; f < x.size; f++) {
            const idx = unravel(f, shape).filter((_, i) => !pick[i]);
            const o = dot(idx, outStrides);
            const v = x.data[f]!;
            want[o] = op === 'sum' ? want[o]! + v : op === 'max' ? Math.max(want[o]!, v) : Math.min(want[o]!, v);
          }
          expectClose(vals(out), Array.from(typed(dtype, want)), tolFor(dtype), op);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('propagates NaN through max/min and sums int32', () => {
    const x = buf('float32', [1, NaN, 3, 4, 5, 6]);
    const out = be.alloc('float32', 2);
    k.reduce('max', x, out, { shape: [2, 3], axes: [1] });
    expect(vals(out)).toEqual([NaN, 6]);
    k.reduce('min', x, out, { shape: [2, 3], axes: [1] });
    expect(vals(out)).toEqual([NaN, 4]);
    const cols = be.alloc('float32', 3);
    k.reduce('max', x, cols, { shape: [2, 3], axes: [0] });
    expect(vals(cols)).toEqual([4, NaN, 6]);
    k.reduce('min', x, cols, { shape: [2, 3], axes: [0] });
    expect(vals(cols)).toEqual([1, NaN, 3]);
    const xi = buf('int32', [1, 2, 3, 4, 5, 6]);
    const oi = be.alloc('int32', 3);
    k.reduce('sum', xi, oi, { shape: [2, 3], axes: [0] });
    expect(vals(oi)).toEqual([5, 7, 9]);
  });

  it('argmax / argmin return the first extreme', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer(), (outer, size, inner, seed) => {
        // Small integers force ties.
        const x = randBuf('float32', outer * size * inner, seed, 2);
        x.data.forEach((v, i) => (x.data[i] = Math.round(v)));
        for (const op of ['argmax', 'argmin'] as const) {
          const out = be.alloc('int32', outer * inner);
          k.argReduce(op, x, out, { outer, size, inner });
          for (let o = 0; o < outer; o++) {
            for (let j = 0; j < inner; j++) {
              let best = 0;
              for (let s = 1; s < size; s++) {
                const v = x.data[(o * size + s) * inner + j]!;
                const b = x.data[(o * size + best) * inner + j]!;
                if (op === 'argmax' ? v > b : v < b) best = s;
              }
              expect(out.data[o * inner + j]).toBe(best);
            }
          }
        }
      }),
      { numRuns: 100 },
    );
    const x = buf('float32', [1, NaN, 5, NaN]);
    const out = be.alloc('int32', 1);
    k.argReduce('argmax', x, out, { outer: 1, size: 4, inner: 1 });
    expect(out.data[0]).toBe(1);
  });
});

/** Naive batched matmul with the catalogue's storage conventions. */
function matmulRef(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  p: { batch: number; m: number; n: number; k: number; transA: boolean; transB: boolean; aBatchStride: number; bBatchStride: number },
): ProductSums {
  const out = new ProductSums(p.batch * p.m * p.n);
  for (let b = 0; b < p.batch; b++) {
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        const o = (b * p.m + i) * p.n + j;
        for (let q = 0; q < p.k; q++) {
          const a = A[b * p.aBatchStride + (p.transA ? q * p.m + i : i * p.k + q)]!;
          const bb = B[b * p.bBatchStride + (p.transB ? j * p.k + q : q * p.n + j)]!;
          out.add(o, a, bb);
        }
      }
    }
  }
  return out;
}

describe('matmul', () => {
  function check(
    dtype: FloatDType,
    batch: number,
    m: number,
    n: number,
    kk: number,
    transA: boolean,
    transB: boolean,
    bcastA: boolean,
    bcastB: boolean,
    seed: number,
    backend = be,
  ): void {
    const p = { batch, m, n, k: kk, transA, transB, aBatchStride: bcastA ? 0 : m * kk, bBatchStride: bcastB ? 0 : kk * n };
    const a = randBuf(dtype, (bcastA ? 1 : batch) * m * kk, seed);
    const b = randBuf(dtype, (bcastB ? 1 : batch) * kk * n, seed + 1);
    const out = backend.alloc(dtype, batch * m * n);
    backend.kernels.matmul(a, b, out, p);
    expectProductSums(dtype, vals(out), matmulRef(a.data, b.data, p), `matmul ${JSON.stringify(p)}`);
  }

  it('matches the triple loop over shapes, transposes and batch broadcasting', () => {
    fc.assert(
      fc.property(
        floatDType,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 19 }),
        fc.integer({ min: 1, max: 19 }),
        fc.integer({ min: 0, max: 19 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (dtype, batch, m, n, kk, tA, tB, bA, bB, seed) => check(dtype, batch, m, n, kk, tA, tB, bA, bB, seed),
      ),
      { numRuns: 300 },
    );
  });

  it('crosses every blocking boundary (MC, NC, KC) and the gemv paths', () => {
    check('float32', 1, 131, 261, 517, false, false, false, false, 1);
    check('float32', 1, 131, 261, 517, true, true, false, false, 2);
    check('float64', 2, 133, 9, 300, true, false, false, true, 3);
    check('float32', 3, 1, 300, 270, false, true, false, false, 4);
    check('float32', 1, 1, 300, 270, true, false, false, false, 5);
    check('float32', 1, 300, 1, 270, false, false, false, false, 6);
    check('float32', 2, 300, 1, 270, true, true, true, false, 7);
    check('float64', 4, 5, 7, 0, false, false, false, false, 8);
    // The dot kernel (≤ 16 rows, transposed B) across its KC and NC blocks.
    check('float32', 1, 9, 300, 2100, false, true, false, false, 9);
    check('float32', 2, 16, 131, 1030, true, true, false, true, 10);
  });

  it('the WebAssembly SIMD tile loops without relaxed SIMD and the JS micro-kernels agree bit for bit', () => {
    const plain = createCpuBackend({ threads: 1, relaxedSimd: false });
    const portable = createCpuBackend({ threads: 1, simd: false });
    expect([plain.simd, plain.relaxedSimd, portable.simd, portable.relaxedSimd]).toEqual([true, false, false, false]);
    try {
      fc.assert(
        fc.property(
          floatDType,
          fc.integer({ min: 2, max: 150 }),
          fc.integer({ min: 2, max: 300 }),
          fc.integer({ min: 1, max: 600 }),
          fc.boolean(),
          fc.boolean(),
          fc.integer(),
          (dtype, m, n, kk, tA, tB, seed) => {
            const p = { batch: 1, m, n, k: kk, transA: tA, transB: tB, aBatchStride: 0, bBatchStride: 0 };
            const a = randBuf(dtype, m * kk, seed);
            const b = randBuf(dtype, kk * n, seed + 1);
            const simdOut = plain.alloc(dtype, m * n);
            plain.kernels.matmul(a, b, simdOut, p);
            const jsOut = portable.alloc(dtype, m * n);
            portable.kernels.matmul(a, b, jsOut, p);
            expect(vals(jsOut)).toEqual(vals(simdOut));
            expectProductSums(dtype, vals(simdOut), matmulRef(a.data, b.data, p), 'matmul');
            for (const x of [a, b]) be.free(x);
          },
        ),
        { numRuns: 25 },
      );
      // Past the dot kernel's 1024-deep k blocks and 128-column n blocks.
      for (const [m, n, kk, tA] of [
        [9, 300, 2100, false],
        [16, 129, 1030, true],
      ] as const) {
        const p = { batch: 1, m, n, k: kk, transA: tA, transB: true, aBatchStride: 0, bBatchStride: 0 };
        const a = randBuf('float32', m * kk, m);
        const b = randBuf('float32', kk * n, n);
        const simdOut = plain.alloc('float32', m * n);
        plain.kernels.matmul(a, b, simdOut, p);
        const jsOut = portable.alloc('float32', m * n);
        portable.kernels.matmul(a, b, jsOut, p);
        expect(vals(jsOut)).toEqual(vals(simdOut));
      }
    } finally {
      plain.dispose();
      portable.dispose();
    }
  });

  // f32x4.relaxed_madd may round once (fused) or twice, so relaxed results are not reproducible in JS. What
  // holds: they meet the float32 bound, and they are exact wherever every product and partial sum is.
  it('relaxed SIMD is available in Node, meets the float32 bound, and is exact on exactly representable sums', () => {
    expect([be.simd, be.relaxedSimd]).toEqual([true, true]);
    const plain = createCpuBackend({ threads: 1, relaxedSimd: false });
    try {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 150 }),
          fc.integer({ min: 2, max: 300 }),
          fc.integer({ min: 1, max: 600 }),
          fc.boolean(),
          fc.boolean(),
          fc.integer(),
          (m, n, kk, tA, tB, seed) => {
            const p = { batch: 1, m, n, k: kk, transA: tA, transB: tB, aBatchStride: 0, bBatchStride: 0 };
            const a = randBuf('float32', m * kk, seed);
            const b = randBuf('float32', kk * n, seed + 1);
            const out = be.alloc('float32', m * n);
            k.matmul(a, b, out, p);
            expectProductSums('float32', vals(out), matmulRef(a.data, b.data, p), 'relaxed matmul');
            // Integers in [-8, 8]: |products| ≤ 64 and |partial sums| ≤ 38400 < 2²⁴, so every rounding is exact.
            const r = rng(seed);
            const ia = buf(
              'float32',
              Array.from({ length: m * kk }, () => Math.round(r() * 8)),
            );
            const ib = buf(
              'float32',
              Array.from({ length: kk * n }, () => Math.round(r() * 8)),
            );
            const exact = be.alloc('float32', m * n);
            k.matmul(ia, ib, exact, p);
            const twice = plain.alloc('float32', m * n);
            plain.kernels.matmul(ia, ib, twice, p);
            const want = Array.from(matmulRef(ia.data, ib.data, p).sum);
            expect(vals(exact)).toEqual(want);
            expect(vals(twice)).toEqual(want);
            for (const x of [a, b, out, ia, ib, exact]) be.free(x);
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      plain.dispose();
    }
  });

  it('splits large products across worker threads with bit-identical results', async () => {
    const threaded = createCpuBackend({ threads: 3 });
    try {
      // Node always has worker_threads; a pool that fails to start would silently lose the speed-up.
      expect(await threaded.startThreads()).toBe(2);
      for (const [m, n, kk, tA, tB] of [
        [200, 300, 150, false, false],
        [300, 97, 260, true, false],
        [8, 1000, 700, false, true],
        [1, 8000, 300, false, true],
      ] as const) {
        const p = { batch: 2, m, n, k: kk, transA: tA, transB: tB, aBatchStride: m * kk, bBatchStride: 0 };
        const a = randBuf('float32', 2 * m * kk, m);
        const b = randBuf('float32', kk * n, n);
        const serial = be.alloc('float32', 2 * m * n);
        k.matmul(a, b, serial, p);
        const ta = threaded.alloc('float32', a.size);
        const tb = threaded.alloc('float32', b.size);
        threaded.write(ta, a.data);
        threaded.write(tb, b.data);
        expect(ta.data.buffer).toBeInstanceOf(SharedArrayBuffer);
        const out = threaded.alloc('float32', 2 * m * n);
        threaded.kernels.matmul(ta, tb, out, p);
        expect(Array.from(out.data)).toEqual(vals(serial));
      }
    } finally {
      threaded.dispose();
    }
  });
});

/** Output size of a convolution or pooling window along one axis. */
function outSize(size: number, kernel: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
}

const convParamsArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cInG: fc.integer({ min: 1, max: 3 }),
    cOutG: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    strideH: fc.integer({ min: 1, max: 4 }),
    strideW: fc.integer({ min: 1, max: 4 }),
    padH: fc.integer({ min: 0, max: 2 }),
    padW: fc.integer({ min: 0, max: 2 }),
    dilationH: fc.integer({ min: 1, max: 3 }),
    dilationW: fc.integer({ min: 1, max: 3 }),
    pointwise: fc.boolean(),
  })
  .map(({ groups, cInG, cOutG, pointwise, ...r }): Conv2dParams => {
    const q = pointwise ? { ...r, kh: 1, kw: 1, strideH: 1, strideW: 1, padH: 0, padW: 0 } : r;
    return {
      ...q,
      groups,
      cIn: groups * cInG,
      cOut: groups * cOutG,
      outH: outSize(q.h, q.kh, q.strideH, q.padH, q.dilationH),
      outW: outSize(q.w, q.kw, q.strideW, q.padW, q.dilationW),
    };
  })
  .filter((p) => p.outH >= 1 && p.outW >= 1);

/** The seven-loop definition; `visit` receives (x index, weight index, y index) of every product. */
function convLoops(p: Conv2dParams, visit: (xi: number, wi: number, yi: number) => void): void {
  const cInG = p.cIn / p.groups;
  const cOutG = p.cOut / p.groups;
  for (let n = 0; n < p.n; n++)
    for (let co = 0; co < p.cOut; co++)
      for (let oh = 0; oh < p.outH; oh++)
        for (let ow = 0; ow < p.outW; ow++)
          for (let ci = 0; ci < cInG; ci++)
            for (let r = 0; r < p.kh; r++)
              for (let s = 0; s < p.kw; s++) {
                const ih = oh * p.strideH - p.padH + r * p.dilationH;
                const iw = ow * p.strideW - p.padW + s * p.dilationW;
                if (ih < 0 || ih >= p.h || iw < 0 || iw >= p.w) continue;
                const c = Math.floor(co / cOutG) * cInG + ci;
                visit(((n * p.cIn + c) * p.h + ih) * p.w + iw, ((co * cInG + ci) * p.kh + r) * p.kw + s, ((n * p.cOut + co) * p.outH + oh) * p.outW + ow);
              }
}

const convSizes = (p: Conv2dParams) => ({ x: p.n * p.cIn * p.h * p.w, w: p.cOut * (p.cIn / p.groups) * p.kh * p.kw, y: p.n * p.cOut * p.outH * p.outW });

describe('conv2d', () => {
  it('forward matches the seven-loop definition (strides, padding, dilation, groups, bias)', () => {
    fc.assert(
      fc.property(convParamsArb, floatDType, fc.boolean(), fc.integer(), (p, dtype, withBias, seed) => {
        const sz = convSizes(p);
        const x = randBuf(dtype, sz.x, seed);
        const w = randBuf(dtype, sz.w, seed + 1);
        const bias = withBias ? randBuf(dtype, p.cOut, seed + 2) : null;
        const y = be.alloc(dtype, sz.y);
        k.conv2d(x, w, bias, y, p);
        const want = bias
          ? new ProductSums(
              sz.y,
              Array.from({ length: sz.y }, (_, yi) => bias.data[Math.floor(yi / (p.outH * p.outW)) % p.cOut]!),
            )
          : new ProductSums(sz.y);
        convLoops(p, (xi, wi, yi) => want.add(yi, x.data[xi]!, w.data[wi]!));
        expectProductSums(dtype, vals(y), want, 'conv2d');
      }),
      { numRuns: 250 },
    );
  });

  it('batching small images into one forward GEMM changes no bit: a batch equals its images one at a time', () => {
    fc.assert(
      fc.property(convParamsArb, floatDType, fc.boolean(), fc.integer({ min: 2, max: 9 }), fc.integer(), (q, dtype, withBias, n, seed) => {
        const p = { ...q, n };
        const sz = convSizes(p);
        const x = randBuf(dtype, sz.x, seed);
        const w = randBuf(dtype, sz.w, seed + 1);
        const bias = withBias ? randBuf(dtype, p.cOut, seed + 2) : null;
        const y = be.alloc(dtype, sz.y);
        k.conv2d(x, w, bias, y, p);
        const one = { ...p, n: 1 };
        const per = sz.x / n;
        const out = sz.y / n;
        for (let i = 0; i < n; i++) {
          const xi = buf(dtype, x.data.subarray(i * per, (i + 1) * per));
          const yi = be.alloc(dtype, out);
          k.conv2d(xi, w, bias, yi, one);
          expect(vals(yi)).toEqual(vals(y).slice(i * out, (i + 1) * out));
          be.free(xi);
          be.free(yi);
        }
        for (const b of bias ? [x, w, y, bias] : [x, w, y]) be.free(b);
      }),
      { numRuns: 100 },
    );
  });

  it('backward kernels match the adjoint loops', () => {
    fc.assert(
      fc.property(convParamsArb, floatDType, fc.integer(), (p, dtype, seed) => {
        const sz = convSizes(p);
        const x = randBuf(dtype, sz.x, seed);
        const w = randBuf(dtype, sz.w, seed + 1);
        const dy = randBuf(dtype, sz.y, seed + 2);
        // Pre-fill the outputs with garbage: the kernels must overwrite, not accumulate.
        const dx = randBuf(dtype, sz.x, seed + 3, 100);
        const dw = randBuf(dtype, sz.w, seed + 4, 100);
        k.conv2dBackwardInput(dy, w, dx, p);
        k.conv2dBackwardFilter(x, dy, dw, p);
        const wantDx = new ProductSums(sz.x);
        const wantDw = new ProductSums(sz.w);
        convLoops(p, (xi, wi, yi) => {
          wantDx.add(xi, dy.data[yi]!, w.data[wi]!);
          wantDw.add(wi, dy.data[yi]!, x.data[xi]!);
        });
        expectProductSums(dtype, vals(dx), wantDx, 'dx');
        expectProductSums(dtype, vals(dw), wantDw, 'dw');
      }),
      { numRuns: 250 },
    );
  });

  it('backward kernels agree with finite differences of the forward (float64)', () => {
    const p: Conv2dParams = {
      n: 2,
      cIn: 4,
      h: 7,
      w: 6,
      cOut: 6,
      kh: 3,
      kw: 2,
      outH: 0,
      outW: 0,
      strideH: 2,
      strideW: 1,
      padH: 1,
      padW: 1,
      dilationH: 1,
      dilationW: 2,
      groups: 2,
    };
    p.outH = outSize(p.h, p.kh, p.strideH, p.padH, p.dilationH);
    p.outW = outSize(p.w, p.kw, p.strideW, p.padW, p.dilationW);
    const sz = convSizes(p);
    const x = randBuf('float64', sz.x, 1);
    const w = randBuf('float64', sz.w, 2);
    const dy = randBuf('float64', sz.y, 3);
    const y = be.alloc('float64', sz.y);
    const loss = (): number => {
      k.conv2d(x, w, null, y, p);
      return vals(y).reduce((s, v, i) => s + v * dy.data[i]!, 0);
    };
    const dx = be.alloc('float64', sz.x);
    const dw = be.alloc('float64', sz.w);
    k.conv2dBackwardInput(dy, w, dx, p);
    k.conv2dBackwardFilter(x, dy, dw, p);
    const eps = 1e-6;
    for (const [target, grad] of [
      [x, dx],
      [w, dw],
    ] as const) {
      for (let i = 0; i < target.size; i += 3) {
        const v = target.data[i]!;
        target.data[i] = v + eps;
        const up = loss();
        target.data[i] = v - eps;
        const down = loss();
        target.data[i] = v;
        expect(Math.abs((up - down) / (2 * eps) - grad.data[i]!)).toBeLessThan(1e-7);
      }
    }
  });

  it('AlexNet-sized layers match the definition, single-threaded and split across threads', async () => {
    const threaded = createCpuBackend({ threads: 2 });
    try {
      expect(await threaded.startThreads()).toBe(1);
      const layers: Conv2dParams[] = [
        {
          n: 2,
          cIn: 3,
          h: 67,
          w: 67,
          cOut: 64,
          kh: 11,
          kw: 11,
          outH: 15,
          outW: 15,
          strideH: 4,
          strideW: 4,
          padH: 2,
          padW: 2,
          dilationH: 1,
          dilationW: 1,
          groups: 1,
        },
        {
          n: 2,
          cIn: 64,
          h: 13,
          w: 13,
          cOut: 96,
          kh: 5,
          kw: 5,
          outH: 13,
          outW: 13,
          strideH: 1,
          strideW: 1,
          padH: 2,
          padW: 2,
          dilationH: 1,
          dilationW: 1,
          groups: 2,
        },
        {
          n: 2,
          cIn: 96,
          h: 13,
          w: 13,
          cOut: 40,
          kh: 1,
          kw: 1,
          outH: 13,
          outW: 13,
          strideH: 1,
          strideW: 1,
          padH: 0,
          padW: 0,
          dilationH: 1,
          dilationW: 1,
          groups: 1,
        },
        // float64: the threaded filter gradient sums per-thread partials straight into dw.
        {
          n: 2,
          cIn: 16,
          h: 32,
          w: 32,
          cOut: 32,
          kh: 3,
          kw: 3,
          outH: 32,
          outW: 32,
          strideH: 1,
          strideW: 1,
          padH: 1,
          padW: 1,
          dilationH: 1,
          dilationW: 1,
          groups: 1,
        },
      ];
      for (const p of layers) {
        const dtype: FloatDType = p.cIn === 16 ? 'float64' : 'float32';
        const sz = convSizes(p);
        const xs = randBuf(dtype, sz.x, 1).data;
        const ws = randBuf(dtype, sz.w, 2).data;
        const dys = randBuf(dtype, sz.y, 3).data;
        const wantY = new ProductSums(sz.y);
        const wantDx = new ProductSums(sz.x);
        const wantDw = new ProductSums(sz.w);
        convLoops(p, (xi, wi, yi) => {
          wantY.add(yi, xs[xi]!, ws[wi]!);
          wantDx.add(xi, dys[yi]!, ws[wi]!);
          wantDw.add(wi, dys[yi]!, xs[xi]!);
        });
        const outputs: number[][][] = [];
        for (const backend of [be, threaded]) {
          const upload = (data: TypedArray): CpuBuffer => {
            const b = backend.alloc(dtype, data.length);
            backend.write(b, data);
            return b;
          };
          const x = upload(xs);
          const w = upload(ws);
          const dy = upload(dys);
          const y = backend.alloc(dtype, sz.y);
          const dx = backend.alloc(dtype, sz.x);
          const dw = backend.alloc(dtype, sz.w);
          backend.kernels.conv2d(x, w, null, y, p);
          backend.kernels.conv2dBackwardInput(dy, w, dx, p);
          backend.kernels.conv2dBackwardFilter(x, dy, dw, p);
          expectProductSums(dtype, vals(y), wantY, 'y');
          expectProductSums(dtype, vals(dx), wantDx, 'dx');
          expectProductSums(dtype, vals(dw), wantDw, 'dw');
          outputs.push([vals(y), vals(dx), vals(dw)]);
        }
        // Forward and input gradient split by images are bit-identical to one thread (the filter gradient's
        // batch sum is added in a different order).
        expect(outputs[1]!.slice(0, 2)).toEqual(outputs[0]!.slice(0, 2));
      }
    } finally {
      threaded.dispose();
    }
  });
});

const poolParamsArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    strideH: fc.integer({ min: 1, max: 5 }),
    strideW: fc.integer({ min: 1, max: 5 }),
    padH: fc.integer({ min: 0, max: 4 }),
    padW: fc.integer({ min: 0, max: 4 }),
  })
  .map((r): Pool2dParams => ({ ...r, outH: outSize(r.h, r.kh, r.strideH, r.padH), outW: outSize(r.w, r.kw, r.strideW, r.padW) }))
  .filter((p) => p.outH >= 1 && p.outW >= 1);

/** Visits every window (plane q, output o) with the in-bounds cells (flat plane index) and the window's full size. */
function poolWindows(p: Pool2dParams, visit: (q: number, o: number, cells: number[]) => void): void {
  for (let q = 0; q < p.n * p.c; q++)
    for (let oh = 0; oh < p.outH; oh++)
      for (let ow = 0; ow < p.outW; ow++) {
        const cells: number[] = [];
        for (let r = 0; r < p.kh; r++)
          for (let s = 0; s < p.kw; s++) {
            const ih = oh * p.strideH - p.padH + r;
            const iw = ow * p.strideW - p.padW + s;
            if (ih >= 0 && ih < p.h && iw >= 0 && iw < p.w) cells.push(ih * p.w + iw);
          }
        visit(q, (q * p.outH + oh) * p.outW + ow, cells);
      }
}

describe('pooling', () => {
  it('max pooling and its backward', () => {
    fc.assert(
      fc.property(poolParamsArb, floatDType, fc.integer(), (p, dtype, seed) => {
        const plane = p.h * p.w;
        const x = randBuf(dtype, p.n * p.c * plane, seed, 3);
        x.data.forEach((v, i) => (x.data[i] = Math.round(v))); // ties
        const ny = p.n * p.c * p.outH * p.outW;
        const y = be.alloc(dtype, ny);
        const arg = be.alloc('int32', ny);
        k.maxPool2d(x, y, arg, p);
        const dy = randBuf(dtype, ny, seed + 1);
        const dx = randBuf(dtype, x.size, seed + 2, 50);
        k.maxPool2dBackward(dy, arg, dx, p);
        const wantDx = new Array<number>(x.size).fill(0);
        poolWindows(p, (q, o, cells) => {
          let best = -Infinity;
          let bestIdx = -1;
          for (const c of cells) if (bestIdx < 0 || x.data[q * plane + c]! > best) [best, bestIdx] = [x.data[q * plane + c]!, c];
          expect(y.data[o]).toBe(best);
          expect(arg.data[o]).toBe(bestIdx);
          if (bestIdx >= 0) wantDx[q * plane + bestIdx] = wantDx[q * plane + bestIdx]! + dy.data[o]!;
        });
        expectClose(vals(dx), Array.from(typed(dtype, wantDx)), tolFor(dtype), 'maxPool dx');
      }),
      { numRuns: 200 },
    );
  });

  it('average pooling (both divisor rules) and its backward', () => {
    fc.assert(
      fc.property(poolParamsArb, floatDType, fc.boolean(), fc.integer(), (p0, dtype, countIncludePad, seed) => {
        const p = { ...p0, countIncludePad };
        const plane = p.h * p.w;
        const x = randBuf(dtype, p.n * p.c * plane, seed);
        const ny = p.n * p.c * p.outH * p.outW;
        const y = be.alloc(dtype, ny);
        k.avgPool2d(x, y, p);
        const dy = randBuf(dtype, ny, seed + 1);
        const dx = randBuf(dtype, x.size, seed + 2, 50);
        k.avgPool2dBackward(dy, dx, p);
        const wantY = new Array<number>(ny).fill(0);
        const wantDx = new Array<number>(x.size).fill(0);
        poolWindows(p, (q, o, cells) => {
          const div = countIncludePad ? p.kh * p.kw : cells.length;
          if (div === 0) return;
          wantY[o] = cells.reduce((s, c) => s + x.data[q * plane + c]!, 0) / div;
          for (const c of cells) wantDx[q * plane + c] = wantDx[q * plane + c]! + dy.data[o]! / div;
        });
        expectClose(vals(y), Array.from(typed(dtype, wantY)), tolFor(dtype), 'avgPool');
        expectClose(vals(dx), Array.from(typed(dtype, wantDx)), tolFor(dtype), 'avgPool dx');
      }),
      { numRuns: 200 },
    );
  });

  it('adaptive average pooling and its backward', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        floatDType,
        fc.integer(),
        (n, c, h, w, outH, outW, dtype, seed) => {
          const p = { n, c, h, w, outH, outW };
          const plane = h * w;
          const x = randBuf(dtype, n * c * plane, seed);
          const ny = n * c * outH * outW;
          const y = be.alloc(dtype, ny);
          k.adaptiveAvgPool2d(x, y, p);
          const dy = randBuf(dtype, ny, seed + 1);
          const dx = be.alloc(dtype, x.size);
          k.adaptiveAvgPool2dBackward(dy, dx, p);
          const wantY = new Array<number>(ny).fill(0);
          const wantDx = new Array<number>(x.size).fill(0);
          for (let q = 0; q < n * c; q++)
            for (let i = 0; i < outH; i++)
              for (let j = 0; j < outW; j++) {
                const cells: number[] = [];
                for (let r = Math.floor((i * h) / outH); r < Math.ceil(((i + 1) * h) / outH); r++)
                  for (let s = Math.floor((j * w) / outW); s < Math.ceil(((j + 1) * w) / outW); s++) cells.push(q * plane + r * w + s);
                const o = (q * outH + i) * outW + j;
                wantY[o] = cells.reduce((s, cell) => s + x.data[cell]!, 0) / cells.length;
                for (const cell of cells) wantDx[cell] = wantDx[cell]! + dy.data[o]! / cells.length;
              }
          expectClose(vals(y), Array.from(typed(dtype, wantY)), tolFor(dtype), 'adaptive');
          expectClose(vals(dx), Array.from(typed(dtype, wantDx)), tolFor(dtype), 'adaptive dx');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('max pooling propagates the first NaN of a window, as PyTorch does', () => {
    const p: Pool2dParams = { n: 1, c: 1, h: 2, w: 3, kh: 2, kw: 2, outH: 1, outW: 2, strideH: 1, strideW: 1, padH: 0, padW: 0 };
    const y = be.alloc('float32', 2);
    const arg = be.alloc('int32', 2);
    k.maxPool2d(buf('float32', [1, NaN, 7, 9, NaN, 2]), y, arg, p);
    expect(vals(y)).toEqual([NaN, NaN]);
    expect(vals(arg)).toEqual([1, 1]);
    k.maxPool2d(buf('float32', [-Infinity, -Infinity, 0, -Infinity, -Infinity, 0]), y, arg, p);
    expect(vals(y)).toEqual([-Infinity, 0]);
    expect(vals(arg)).toEqual([0, 2]);
  });

  it('a max-pool window wholly in the padding yields −∞ and index −1', () => {
    const p: Pool2dParams = { n: 1, c: 1, h: 1, w: 1, kh: 1, kw: 1, outH: 3, outW: 1, strideH: 1, strideW: 1, padH: 1, padW: 0 };
    const y = be.alloc('float32', 3);
    const arg = be.alloc('int32', 3);
    k.maxPool2d(buf('float32', [5]), y, arg, p);
    expect(vals(y)).toEqual([-Infinity, 5, -Infinity]);
    expect(vals(arg)).toEqual([-1, 0, -1]);
  });
});

describe('local response normalisation', () => {
  const lrnArb = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 8 }),
    h: fc.integer({ min: 1, max: 3 }),
    w: fc.integer({ min: 1, max: 3 }),
    size: fc.integer({ min: 1, max: 6 }),
    alpha: fc.double({ min: 1e-4, max: 2, noNaN: true }),
    beta: fc.constantFrom(0.75, 0.5, 1.3),
    k: fc.double({ min: 0.5, max: 3, noNaN: true }),
  });

  function lrnScaleRef(x: ArrayLike<number>, p: LrnParams, n: number, c: number, t: number): number {
    const plane = p.h * p.w;
    let s = 0;
    for (let j = c - Math.floor(p.size / 2); j <= c + Math.floor((p.size - 1) / 2); j++) {
      if (j >= 0 && j < p.c) s += x[(n * p.c + j) * plane + t]! ** 2;
    }
    return p.k + (p.alpha / p.size) * s;
  }

  it('forward matches the formula', () => {
    fc.assert(
      fc.property(lrnArb, floatDType, fc.integer(), (p, dtype, seed) => {
        const plane = p.h * p.w;
        const x = randBuf(dtype, p.n * p.c * plane, seed, 3);
        const y = be.alloc(dtype, x.size);
        k.lrn(x, y, p);
        const want: number[] = [];
        for (let n = 0; n < p.n; n++)
          for (let c = 0; c < p.c; c++)
            for (let t = 0; t < plane; t++) want.push(x.data[(n * p.c + c) * plane + t]! / lrnScaleRef(x.data, p, n, c, t) ** p.beta);
        expectClose(vals(y), Array.from(typed(dtype, want)), 4 * tolFor(dtype), 'lrn');
      }),
      { numRuns: 150 },
    );
  });

  it('backward matches central finite differences (float64)', () => {
    fc.assert(
      fc.property(lrnArb, fc.integer(), (p, seed) => {
        const x = randBuf('float64', p.n * p.c * p.h * p.w, seed, 2);
        const dy = randBuf('float64', x.size, seed + 1);
        const y = be.alloc('float64', x.size);
        k.lrn(x, y, p);
        const dx = be.alloc('float64', x.size);
        k.lrnBackward(x, y, dy, dx, p);
        const loss = (): number => {
          k.lrn(x, y, p);
          return vals(y).reduce((s, v, i) => s + v * dy.data[i]!, 0);
        };
        const eps = 1e-5;
        for (let i = 0; i < x.size; i++) {
          const v = x.data[i]!;
          x.data[i] = v + eps;
          const up = loss();
          x.data[i] = v - eps;
          const down = loss();
          x.data[i] = v;
          const fd = (up - down) / (2 * eps);
          if (!(Math.abs(fd - dx.data[i]!) <= 1e-6 * (1 + Math.abs(fd)))) throw new Error(`dx[${i}] = ${dx.data[i]}, finite difference ${fd}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('softmax and cross-entropy', () => {
  it('softmax / log-softmax are exact and stable for large logits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 12 }),
        floatDType,
        fc.boolean(),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        fc.integer(),
        (rows, cols, dtype, log, shift, seed) => {
          const x = randBuf(dtype, rows * cols, seed, 10);
          x.data.forEach((v, i) => (x.data[i] = v + shift));
          const out = be.alloc(dtype, x.size);
          k.softmax(x, out, { rows, cols, log });
          const want: number[] = [];
          for (let r = 0; r < rows; r++) {
            const row = Array.from(x.data.subarray(r * cols, (r + 1) * cols));
            const m = Math.max(...row);
            const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
            for (const v of row) want.push(log ? v - lse : Math.exp(v - lse));
          }
          // log-softmax values scale with |shift|, whose float32 rounding is already in x.
          expectClose(vals(out), Array.from(typed(dtype, want)), 4 * tolFor(dtype), 'softmax');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('cross-entropy and its gradient', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), floatDType, fc.integer(), (rows, cols, dtype, seed) => {
        const x = randBuf(dtype, rows * cols, seed, 20);
        const r = rng(seed + 9);
        const labels = buf(
          'int32',
          Array.from({ length: rows }, () => Math.floor(((r() + 1) / 2) * cols)),
        );
        const dl = randBuf(dtype, rows, seed + 1);
        const losses = be.alloc(dtype, rows);
        const grad = be.alloc(dtype, x.size);
        k.crossEntropy(x, labels, losses, { rows, cols });
        k.crossEntropyBackward(x, labels, dl, grad, { rows, cols });
        const wantL: number[] = [];
        const wantG: number[] = [];
        for (let i = 0; i < rows; i++) {
          const row = Array.from(x.data.subarray(i * cols, (i + 1) * cols));
          const m = Math.max(...row);
          const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
          wantL.push(lse - row[labels.data[i]!]!);
          row.forEach((v, j) => wantG.push((Math.exp(v - lse) - (j === labels.data[i] ? 1 : 0)) * dl.data[i]!));
        }
        expectClose(vals(losses), Array.from(typed(dtype, wantL)), 4 * tolFor(dtype), 'loss');
        expectClose(vals(grad), Array.from(typed(dtype, wantG)), 4 * tolFor(dtype), 'dlogits');
      }),
      { numRuns: 150 },
    );
  });

  it('rejects out-of-range labels naming label, row and range', () => {
    const x = randBuf('float32', 4 * 5, 1);
    const labels = buf('int32', [0, 4, 2, 7]);
    const out = be.alloc('float32', 4);
    expect(() => k.crossEntropy(x, labels, out, { rows: 4, cols: 5 })).toThrow(new TesseraError('crossEntropy', 'label 7 at row 3 is outside [0, 5)'));
    expect(() => k.crossEntropyBackward(x, buf('int32', [-1, 0, 0, 0]), out, be.alloc('float32', 20), { rows: 4, cols: 5 })).toThrow(
      /label -1 at row 0 is outside \[0, 5\)/,
    );
  });
});

describe('gather, oneHot, topk', () => {
  it('gather and its adjoint', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom<DType>('float32', 'float64'),
        fc.integer(),
        (outer, axisSize, inner, count, dtype, seed) => {
          const r = rng(seed);
          const idx = Array.from({ length: count }, () => Math.floor(((r() + 1) / 2) * axisSize));
          const x = randBuf(dtype, outer * axisSize * inner, seed + 1);
          const indices = buf('int32', idx);
          const out = be.alloc(dtype, outer * count * inner);
          const p = { outer, axisSize, inner, count };
          k.gather(x, indices, out, p);
          const dx = randBuf(dtype, x.size, seed + 2, 100);
          k.gatherBackward(out, indices, dx, p);
          const want: number[] = [];
          const wantDx = new Array<number>(x.size).fill(0);
          for (let o = 0; o < outer; o++)
            for (let t = 0; t < count; t++)
              for (let j = 0; j < inner; j++) {
                const src = (o * axisSize + idx[t]!) * inner + j;
                want.push(x.data[src]!);
                wantDx[src] = wantDx[src]! + x.data[src]!;
              }
          expect(vals(out)).toEqual(want);
          expectClose(vals(dx), Array.from(typed(dtype, wantDx)), tolFor(dtype), 'gatherBackward');
        },
      ),
      { numRuns: 150 },
    );
    expect(() => k.gather(randBuf('float32', 6, 1), buf('int32', [1, 3]), be.alloc('float32', 4), { outer: 2, axisSize: 3, inner: 1, count: 2 })).toThrow(
      new TesseraError('gather', 'index 3 at position 1 is outside [0, 3)'),
    );
  });

  it('oneHot', () => {
    const out = be.alloc('float32', 6);
    k.oneHot(buf('int32', [2, 0]), out, { n: 2, depth: 3 });
    expect(vals(out)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => k.oneHot(buf('int32', [3]), be.alloc('float32', 3), { n: 1, depth: 3 })).toThrow(TesseraError);
  });

  it('topk is sorted, stable on ties and ranks NaN highest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 60 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        fc.nat(),
        (rows, cols, largest, withNaN, seed, kSeed) => {
          const topK = 1 + (kSeed % cols);
          const x = randBuf('float32', rows * cols, seed, 3);
          x.data.forEach((v, i) => (x.data[i] = Math.round(v)));
          if (withNaN) {
            x.data[Math.abs(seed) % x.size] = NaN;
            x.data[Math.abs(seed >> 3) % x.size] = Infinity;
            x.data[Math.abs(seed >> 6) % x.size] = -Infinity;
          }
          const values = be.alloc('float32', rows * topK);
          const indices = be.alloc('int32', rows * topK);
          k.topk(x, values, indices, { rows, cols, k: topK, largest });
          for (let r = 0; r < rows; r++) {
            // NaN is the greatest value; equal values keep index order.
            const cmp = (a: number, b: number): number => {
              const va = x.data[r * cols + a]!;
              const vb = x.data[r * cols + b]!;
              const na = Number.isNaN(va);
              const nb = Number.isNaN(vb);
              const c = na !== nb ? (na ? 1 : -1) : na || va === vb ? 0 : va > vb ? 1 : -1;
              return (largest ? -c : c) || a - b;
            };
            const order = Array.from({ length: cols }, (_, j) => j).sort(cmp);
            const wantIdx = order.slice(0, topK);
            expect(Array.from(indices.data.subarray(r * topK, (r + 1) * topK))).toEqual(wantIdx);
            expect(Array.from(values.data.subarray(r * topK, (r + 1) * topK))).toEqual(wantIdx.map((j) => x.data[r * cols + j]!));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('sgdUpdate', () => {
  it('implements the paper and PyTorch rules', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'paper' | 'pytorch'>('paper', 'pytorch'),
        fc.constantFrom(0, 0.9),
        fc.constantFrom(0, 5e-4),
        fc.constantFrom(0, 0.1),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (rule, momentum, weightDecay, dampening, nesterov, firstStep, seed) => {
          const n = 17;
          const w = randBuf('float64', n, seed);
          const g = randBuf('float64', n, seed + 1);
          const v = momentum ? randBuf('float64', n, seed + 2) : null;
          const w0 = vals(w);
          const v0 = v ? vals(v) : null;
          const p = { rule, lr: 0.01, momentum, weightDecay, dampening, nesterov, firstStep };
          k.sgdUpdate(w, g, v, p);
          for (let i = 0; i < n; i++) {
            const wi = w0[i]!;
            const gi = g.data[i]!;
            let wantW: number;
            let wantV = 0;
            if (rule === 'paper') {
              wantV = momentum * (v0?.[i] ?? 0) - weightDecay * p.lr * wi - p.lr * gi;
              wantW = wi + wantV;
            } else {
              const gp = gi + weightDecay * wi;
              if (momentum === 0) wantW = wi - p.lr * gp;
              else {
                wantV = firstStep ? gp : momentum * v0![i]! + (1 - dampening) * gp;
                wantW = wi - p.lr * (nesterov ? gp + momentum * wantV : wantV);
              }
            }
            expect(w.data[i]).toBeCloseTo(wantW, 14);
            if (v) expect(v.data[i]).toBeCloseTo(wantV, 14);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
