/**
 * Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the one random
 * generator every tessera backend implements, so that initialisations and dropout masks agree element for
 * element across backends. The float stream is defined from the raw 32-bit words by float32 operations every
 * device has natively (after tinygrad's `_bits_to_rand`), never by float64 arithmetic.
 *
 * Words. Element i of a tensor filled with (seed, offset) takes lane i mod 4 of the Philox 4x32-10 block for
 * counter (b mod 2³², ⌊b / 2³²⌋, 0, 0), b = offset + ⌊i / 4⌋, key (seed mod 2³², ⌊seed / 2³²⌋). A fill of n
 * elements consumes ⌈n / 4⌉ blocks; the global generator advances its offset by that much.
 *
 * Notation: f32(x) rounds a real to the nearest float32 (ties to even); ⊕ ⊖ ⊗ are float32 add, subtract and
 * multiply, each rounded to nearest-even on its own — never fused into a multiply-add. ftz(v) = +0 where
 * |v| < 2⁻¹²⁶, else v: float32 subnormals never reach an output, because devices may flush them (WGSL permits
 * it and SwiftShader does, in arithmetic and comparisons), and the stream is arranged so that whether a
 * device flushes cannot change a bit (below).
 *
 * u(x) = bitcast_f32((x >>> 9) | 0x3f800000) ⊖ 1 = (x >>> 9) · 2⁻²³ ∈ [0, 1), exact (the subtraction of two
 * floats in [1, 2) loses nothing).
 *
 * Host constants: `randomConstants(p, dtype)` computes them once per fill (and rejects what has no finite
 * float32 meaning with a TesseraError, the same error on every backend), so a device kernel receives only
 * float32 values; backends import it from the toolkit (`@tessera/tensor/backend`).
 * - uniform: lo = f32(low), hi = f32(high), range = hi ⊖ lo; where high > low, threshold = the smallest float32
 *   ≥ high (hi, or the float32 above it where hi < high) and replacement = the largest float32 < high that is
 *   0 or normal (the float32 below threshold; 0 for threshold = 2⁻¹²⁶, −2⁻¹²⁶ for threshold = 0); where
 *   high ≤ low, threshold = +∞ (no replacement). Rejected: lo, hi or range not finite; a bound that is not 0
 *   but below 2⁻¹²⁶ in magnitude; 0 < |range| < 2⁻¹⁰³ (then range ⊗ u could be subnormal; from 2⁻¹⁰³ on it is
 *   0 or normal, as u ≥ 2⁻²³ where u ≠ 0).
 * - bernoulli: p₃₂ = ftz(f32(p)), scale₃₂ = ftz(f32(scale)).
 * - normal: mean₃₂ = ftz(f32(mean)), std₃₂ = ftz(f32(std)), both finite.
 *
 * float32 outputs, per element (x = the element's word):
 * - uniform: v = ftz(lo ⊕ (range ⊗ u(x))); out = v ≥ threshold ? replacement : v. Bit-identical on every
 *   backend: every operand is 0 or normal, and lo ⊕ p, a multiple of 2⁻¹⁴⁹, is below 2⁻¹²⁶ in magnitude
 *   exactly when ftz zeroes it, flushing device or not. (out < high always.)
 * - bernoulli: out = u(x) < p₃₂ ? scale₃₂ : 0. Bit-identical on every backend.
 * - normal, Box–Muller on the lane pairs (0, 1) and (2, 3) of a block (a lone last lane of a fill still uses
 *   its pair's words): with x₀, x₁ the pair's words,
 *     u1 = 1 ⊖ u(x₀) ∈ [2⁻²³, 1] (exact), t = u(x₁) ⊖ 0.5 ∈ [−½, ½) (exact),
 *     r = √(−2 ln u1), z₀ = r · cos 2πt (lane 0 or 2), z₁ = r · sin 2πt (lane 1 or 3),
 *     out = ftz(mean₃₂ ⊕ (std₃₂ ⊗ z)).
 *   (The angle lies in [−π, π) rather than [0, 2π); the distribution is the same.) Only z is approximate: the
 *   CPU reference computes it in float64 (Math.log/sqrt/cos/sin, 2π·t in float64) and rounds it to float32 once;
 *   a device computes it in float32 to within a few ulps of ln, √, cos and sin, with its native functions where
 *   they are that accurate, otherwise as the WebGPU kernel does:
 *   - CUDA: logf, sqrtf, sincospif(2t) (2t is exact; sincospi reduces exactly). ≤ 2 ulp each.
 *   - WGSL (and GLSL, whose guarantees are the same): native sqrt; ln u1 = ln(1 − u) by the series
 *     −u(1 + u(1/2 + u(1/3 + u/4))) for u < 2⁻⁶ and the native log otherwise (WGSL guarantees log only to 2⁻²¹
 *     absolute on [0.5, 2]); sin/cos by exact reduction on the integer, m = (x₁ >>> 9) ^ 2²² (so 2πt ≡ 2πm/2²³),
 *     octant m >>> 20, and float32 minimax polynomials on [0, π/4] (WGSL guarantees sin/cos only to 2⁻¹¹
 *     absolute; SwiftShader's are off by 1.9e-4).
 *   The max(…, 0) a device may put under the root guards a log returning a tiny positive value just below 1.
 *   The affine step is the same float32 ⊕/⊗ everywhere, so
 *   |out − out_ref| ≤ NORMAL_TOLERANCE.atol·|std| + NORMAL_TOLERANCE.rtol·(|out_ref| + |mean|) + 2⁻¹²⁶ (a
 *   subnormal std₃₂ ⊗ z that one device flushes), measured across backends (see NORMAL_TOLERANCE) and enforced
 *   by the conformance kit through `normalTolerance(mean, std)`.
 * float64 outputs (CPU only, for gradcheck): the same u(x), the same formulas with float64 operations and no
 * ftz: lo = low, range = high − low, threshold = high where high > low, replacement = the float64 below high;
 * bernoulli compares u(x) < p₃₂ (so float32 and float64 masks are identical) and yields scale; normal computes
 * z as above and out = mean + std · z in float64.
 *
 * Keeping devices from contracting a ⊗ followed by ⊕ into one fused multiply-add:
 * - CUDA: __fmul_rn / __fadd_rn (documented never to be merged into an FMA), without --use_fast_math (which
 *   would swap in approximate log/sin/cos); -ftz either way, the result is the same (ftz above).
 * - WGSL: the product is passed through bitcast<u32>, XORed with a zero read from the uniform parameters (which
 *   no compiler can prove zero) and bitcast back before the add, so no shader compiler can fuse the two.
 * - JavaScript (this file): there is no FMA; a float32 product of two float32s is exact in float64 and Math.fround
 *   rounds it once, and a float64 sum of two float32s rounded by Math.fround is the correctly rounded float32 sum.
 */
import type { RandomParams } from '../backend/kernels.js';
import { TesseraError } from '../errors.js';

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
const INV_2_23 = 1 / 8388608;

/** Splits a non-negative integer below 2⁵³ into (low, high) uint32 words. */
export function splitU64(x: number): [number, number] {
  return [(x % TWO_POW_32) >>> 0, Math.floor(x / TWO_POW_32) >>> 0];
}

/** Number of Philox blocks a fill of `n` elements consumes. */
export function blocksFor(n: number): number {
  return Math.ceil(n / 4);
}

/** u(x): the top 23 bits of a Philox word as a float in [0, 1), exactly bitcast((x >>> 9) | 0x3f800000) − 1. */
export function uniformFromBits(x: number): number {
  return (x >>> 9) * INV_2_23;
}

const f32Scratch = new Float32Array(1);
const i32Scratch = new Int32Array(f32Scratch.buffer);
const f64Scratch = new Float64Array(1);
const i64Scratch = new BigInt64Array(f64Scratch.buffer);

/** The largest float32 (or float64) strictly below x, for a finite x of that type. */
export function below(x: number, f32: boolean): number {
  if (x === 0) return f32 ? -1.401298464324817e-45 : -5e-324;
  if (f32) {
    f32Scratch[0] = x;
    i32Scratch[0] = x > 0 ? i32Scratch[0]! - 1 : i32Scratch[0]! + 1;
    return f32Scratch[0]!;
  }
  f64Scratch[0] = x;
  i64Scratch[0] = x > 0 ? i64Scratch[0]! - 1n : i64Scratch[0]! + 1n;
  return f64Scratch[0]!;
}

/** The smallest normal float32, 2⁻¹²⁶. */
const MIN_NORMAL_F32 = 1.1754943508222875e-38;
/** The narrowest non-empty float32 uniform range: range ⊗ u stays normal for every u ≥ 2⁻²³. */
const MIN_RANGE_F32 = 2 ** -103;

/** ftz(v): +0 for a float32 below 2⁻¹²⁶ in magnitude (subnormals and −0), else v. */
export function flushSubnormal(v: number): number {
  return Math.abs(v) < MIN_NORMAL_F32 ? 0 : v;
}

/** Whether x is not 0 but below 2⁻¹²⁶ in magnitude. */
function isSubnormal(x: number): boolean {
  return x !== 0 && Math.abs(x) < MIN_NORMAL_F32;
}

/** The smallest float32 strictly above a finite float32 x (+∞ above the largest). */
function above(x: number): number {
  if (x === 0) return 1.401298464324817e-45;
  f32Scratch[0] = x;
  i32Scratch[0] = x > 0 ? i32Scratch[0]! + 1 : i32Scratch[0]! - 1;
  return f32Scratch[0]!;
}

/** What a device kernel receives for one fill: values already rounded to the output dtype (see the header). */
export type RandomConstants =
  | { dist: 'uniform'; lo: number; range: number; threshold: number; replacement: number }
  | { dist: 'bernoulli'; p: number; scale: number }
  | { dist: 'normal'; mean: number; std: number };

/**
 * The host constants of a fill into a float32 or float64 buffer, per the header's definitions; a TesseraError
 * for bounds, mean or std without a finite value in that dtype (e.g. an infinite bound, or a float32 range
 * high − low that overflows).
 */
export function randomConstants(p: RandomParams, dtype: 'float32' | 'float64'): RandomConstants {
  const f32 = dtype === 'float32';
  const round = f32 ? Math.fround : (x: number) => x;
  if (p.dist === 'bernoulli') return { dist: 'bernoulli', p: flushSubnormal(Math.fround(p.p)), scale: f32 ? flushSubnormal(Math.fround(p.scale)) : p.scale };
  if (p.dist === 'normal') {
    const mean = f32 ? flushSubnormal(Math.fround(p.mean)) : p.mean;
    const std = f32 ? flushSubnormal(Math.fround(p.std)) : p.std;
    if (!Number.isFinite(mean) || !Number.isFinite(std)) {
      throw new TesseraError('random', `normal needs a finite ${dtype} mean and std, got mean ${p.mean} and std ${p.std}`);
    }
    return { dist: 'normal', mean, std };
  }
  const lo = round(p.low);
  const hi = round(p.high);
  const range = f32 ? Math.fround(hi - lo) : hi - lo;
  const bounds = `[${p.low}, ${p.high})`;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !Number.isFinite(range)) {
    throw new TesseraError(
      'random',
      `uniform needs bounds whose ${dtype} values and difference are finite, got ${bounds}` +
        (Number.isFinite(lo) && Number.isFinite(hi) ? ` (high − low overflows ${dtype})` : ''),
    );
  }
  if (!f32) return { dist: 'uniform', lo, range, threshold: p.high > p.low ? hi : Infinity, replacement: below(hi, false) };
  if (isSubnormal(p.low) || isSubnormal(p.high)) {
    throw new TesseraError('random', `uniform bounds must be 0 or at least 2⁻¹²⁶ in magnitude for float32 (GPUs may flush subnormals), got ${bounds}`);
  }
  if (range !== 0 && Math.abs(range) < MIN_RANGE_F32) {
    throw new TesseraError(
      'random',
      `uniform ${bounds} is narrower than 2⁻¹⁰³ in float32, where its draws would need subnormal products that GPUs may flush; draw a wider range and scale it`,
    );
  }
  if (!(p.high > p.low)) return { dist: 'uniform', lo, range, threshold: Infinity, replacement: hi };
  const threshold = hi >= p.high ? hi : above(hi);
  return { dist: 'uniform', lo, range, threshold, replacement: threshold === 0 ? -MIN_NORMAL_F32 : flushSubnormal(below(threshold, true)) };
}

/**
 * Bound between any backend's float32 normal draws and the CPU reference's:
 * |out − out_ref| ≤ atol·|std| + rtol·(|out_ref| + |mean|). Measured on WebGPU (SwiftShader), 6 × 2²² draws
 * (mean/std 0/1 twice, 1/2, −3/0.01, 10/0.5, 0/100): worst |z − z_ref| = 8.8e-7 (where the native log takes
 * over from the series, r ≈ 0.18) plus at most one float32 ulp from the affine step — at most 0.42 of this
 * bound, which leaves a factor of two.
 * CUDA (logf, sqrtf, sincospif: ≤ 2 ulp each) is expected well inside it but has not been measured on a GPU yet.
 */
export const NORMAL_TOLERANCE = { atol: 2e-6, rtol: 4e-7 } as const;

/**
 * `NORMAL_TOLERANCE` as the (atol, rtol) pair of an elementwise |got − want| ≤ atol + rtol·|want| check; atol
 * includes 2⁻¹²⁶ for a subnormal std₃₂ ⊗ z that one device flushed.
 */
export function normalTolerance(mean: number, std: number): { atol: number; rtol: number } {
  return { atol: NORMAL_TOLERANCE.atol * Math.abs(std) + NORMAL_TOLERANCE.rtol * Math.abs(mean) + MIN_NORMAL_F32, rtol: NORMAL_TOLERANCE.rtol };
}

/**
 * Reference fill of `out` following the stream above (the CPU backend's kernel). Returns the fill's host
 * constants (`randomConstants`), so a device backend gets them, validated, from the toolkit's `philoxFill` with
 * an empty float32 array as long as the toolkit does not re-export `randomConstants` itself.
 */
export function philoxFill(out: Float32Array | Float64Array, p: RandomParams): RandomConstants {
  const f32 = out instanceof Float32Array;
  const c = randomConstants(p, f32 ? 'float32' : 'float64');
  const round = f32 ? Math.fround : (x: number) => x;
  const output = f32 ? flushSubnormal : (x: number) => x;
  const [k0, k1] = splitU64(p.seed);
  const words = new Uint32Array(4);
  const n = out.length;
  for (let i = 0, block = p.offset; i < n; i += 4, block++) {
    const [c0, c1] = splitU64(block);
    philox4x32(c0, c1, 0, 0, k0, k1, words);
    const lanes = Math.min(4, n - i);
    if (c.dist === 'normal') {
      for (let pair = 0; pair < lanes; pair += 2) {
        const u1 = 1 - uniformFromBits(words[pair]!);
        const t = uniformFromBits(words[pair + 1]!) - 0.5;
        const theta = 2 * Math.PI * t;
        const r = Math.sqrt(-2 * Math.log(u1));
        out[i + pair] = output(round(c.mean + round(c.std * round(r * Math.cos(theta)))));
        if (pair + 1 < lanes) out[i + pair + 1] = output(round(c.mean + round(c.std * round(r * Math.sin(theta)))));
      }
    } else if (c.dist === 'uniform') {
      for (let l = 0; l < lanes; l++) {
        const v = output(round(c.lo + round(c.range * uniformFromBits(words[l]!))));
        out[i + l] = v >= c.threshold ? c.replacement : v;
      }
    } else {
      for (let l = 0; l < lanes; l++) out[i + l] = uniformFromBits(words[l]!) < c.p ? c.scale : 0;
    }
  }
  return c;
}
