/**
 * Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the one random
 * generator every tessera backend implements, so that initialisations and dropout masks agree element for
 * element across backends.
 *
 * The stream: element i of a tensor filled with (seed, offset) takes lane i mod 4 of the Philox block for
 * counter (b mod 2³², ⌊b / 2³²⌋, 0, 0) with b = offset + ⌊i / 4⌋ and key (seed mod 2³², ⌊seed / 2³²⌋).
 * - uniform: u = (x >>> 8) · 2⁻²⁴ ∈ [0, 1), exact in float32; value = low + (high − low) · u rounded to the
 *   output dtype, or the largest value of that dtype below high where the rounding reaches high.
 * - bernoulli: (u < p) ? scale : 0, comparing against p rounded to float32.
 * - normal: Box–Muller on lane pairs (0, 1) and (2, 3): u1 = ((x₀ >>> 8) + 1) · 2⁻²⁴ ∈ (0, 1],
 *   u2 = (x₁ >>> 8) · 2⁻²⁴, r = √(−2 ln u1); lane 0 = r cos 2πu2, lane 1 = r sin 2πu2; value = mean + std · z.
 * A call that fills n elements consumes ⌈n / 4⌉ blocks; the global generator advances its offset by that much.
 */
import type { RandomParams } from '../backend/kernels.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32s. */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const lohi = aLo * bHi;
  const hilo = aHi * bLo;
  const hihi = aHi * bHi;
  const cross = (lolo >>> 16) + (lohi & 0xffff) + (hilo & 0xffff);
  return (hihi + (lohi >>> 16) + (hilo >>> 16) + (cross >>> 16)) >>> 0;
}

/** One Philox 4x32-10 block; writes 4 uint32 words into `out`. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

const TWO_POW_32 = 4294967296;
const INV_2_24 = 1 / 16777216;

/** Splits a non-negative integer below 2⁵³ into (low, high) uint32 words. */
export function splitU64(x: number): [number, number] {
  return [(x % TWO_POW_32) >>> 0, Math.floor(x / TWO_POW_32) >>> 0];
}

/** Number of Philox blocks a fill of `n` elements consumes. */
export function blocksFor(n: number): number {
  return Math.ceil(n / 4);
}

const f32Scratch = new Float32Array(1);
const i32Scratch = new Int32Array(f32Scratch.buffer);

/** The largest float32 (or float64) strictly below x, for x > 0 or x ≤ 0 alike. */
export function below(x: number, f32: boolean): number {
  if (!f32) {
    const f64 = new Float64Array([x]);
    const bits = new BigInt64Array(f64.buffer);
    bits[0] = x > 0 ? bits[0]! - 1n : x === 0 ? -1n ^ 0x7fffffffffffffffn : bits[0]! + 1n;
    return f64[0]!;
  }
  f32Scratch[0] = x;
  if (x === 0) return -1.401298464324817e-45;
  i32Scratch[0] = x > 0 ? i32Scratch[0]! - 1 : i32Scratch[0]! + 1;
  return f32Scratch[0]!;
}

/** Reference fill of `out` following the stream above (the CPU backend's kernel). */
export function philoxFill(out: Float32Array | Float64Array, p: RandomParams): void {
  const [k0, k1] = splitU64(p.seed);
  const words = new Uint32Array(4);
  const n = out.length;
  const f32 = out instanceof Float32Array;
  const round = f32 ? Math.fround : (x: number) => x;
  const pf = p.dist === 'bernoulli' ? Math.fround(p.p) : 0;
  for (let i = 0, block = p.offset; i < n; i += 4, block++) {
    const [c0, c1] = splitU64(block);
    philox4x32(c0, c1, 0, 0, k0, k1, words);
    const lanes = Math.min(4, n - i);
    if (p.dist === 'normal') {
      for (let pair = 0; pair < lanes; pair += 2) {
        const u1 = ((words[pair]! >>> 8) + 1) * INV_2_24;
        const u2 = (words[pair + 1]! >>> 8) * INV_2_24;
        const r = Math.sqrt(-2 * Math.log(u1));
        const theta = 2 * Math.PI * u2;
        out[i + pair] = round(p.mean + p.std * r * Math.cos(theta));
        if (pair + 1 < lanes) out[i + pair + 1] = round(p.mean + p.std * r * Math.sin(theta));
      }
    } else {
      for (let l = 0; l < lanes; l++) {
        const u = (words[l]! >>> 8) * INV_2_24;
        if (p.dist === 'uniform') {
          const v = round(p.low + (p.high - p.low) * u);
          out[i + l] = v >= p.high && p.high > p.low ? below(p.high, f32) : v;
        } else out[i + l] = u < pf ? p.scale : 0;
      }
    }
  }
}
