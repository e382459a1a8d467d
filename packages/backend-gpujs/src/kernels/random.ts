/**
 * Philox random fills following the float32 stream defined in @tessera/tensor's random/philox.ts: element i
 * takes lane i mod 4 of the block for counter offset + ⌊i/4⌋ and key seed; the words come from PHILOX_GLSL
 * (exact float arithmetic), u(x) = (x >>> 9)·2⁻²³ exactly, and the host constants (bounds, threshold,
 * replacement, p, scale, mean, std) come validated from the toolkit's `randomConstants`. Uniform
 * and bernoulli are therefore bit-identical to the CPU backend; normal differs only by ln and the float32
 * sin/cos polynomials below.
 *
 * No multiply may fuse with the following add (the stream rounds each ⊗ and ⊕ on its own): every product
 * goes through `+ zero`, a uniform the compiler cannot know is 0, which rounds it (fma(a, b, 0) is the
 * rounded product) before the add.
 */
import { TesseraError, randomConstants, splitU64 } from '@tessera/tensor/backend';
import type { RandomParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

const MIN_NORMAL_F32 = 2 ** -126;

/**
 * [offset as four 16-bit limbs (lowest first), key as (k0 high, k0 low, k1 high, k1 low), philoxBits' scales
 * for x >>> 9 (2⁷, 2⁻⁹), 2⁻²³, 2⁻¹²⁶].
 */
function streamMeta(p: RandomParams): Float32Array {
  const [o0, o1] = splitU64(p.offset);
  const [k0, k1] = splitU64(p.seed);
  return new Float32Array([
    o0 & 0xffff,
    o0 >>> 16,
    o1 & 0xffff,
    o1 >>> 16,
    k0 >>> 16,
    k0 & 0xffff,
    k1 >>> 16,
    k1 & 0xffff,
    2 ** 7,
    2 ** -9,
    2 ** -23,
    MIN_NORMAL_F32,
  ]);
}

/** The kernel prologue: the block counter words (l1 l0, l3 l2) for this element, and its lane. */
const COUNTER = `
        const e = this.thread.x + 0.0;
        const q = fdiv(e, 4.0);
        const lane = e - 4.0 * q;
        const qh = Math.floor(q * 0.0000152587890625);
        const ql = q - qh * 65536.0;
        let l0 = m[0] + ql;
        let carry = 0.0;
        if (l0 >= 65536.0) { l0 = l0 - 65536.0; carry = 1.0; }
        let l1 = m[1] + qh + carry;
        carry = 0.0;
        if (l1 >= 65536.0) { l1 = l1 - 65536.0; carry = 1.0; }
        let l2 = m[2] + carry;
        carry = 0.0;
        if (l2 >= 65536.0) { l2 = l2 - 65536.0; carry = 1.0; }
        let l3 = m[3] + carry;
        if (l3 >= 65536.0) { l3 = l3 - 65536.0; }`;

/** u(x) of lane `lane` of this element's block. */
const u = (lane: string) => `philoxBits(l1, l0, l3, l2, m[4], m[5], m[6], m[7], ${lane}, m[8], m[9]) * m[10]`;

/** gpu.js functions of the normal kernel: ln(1 − v) and sin/cos of 2πb on [0, 1/8] (float32 polynomials). */
export const RANDOM_HELPERS: readonly string[] = [
  // ln(1 − v) for v ∈ [0, 1): the series below 2⁻⁶ (where the native log loses relative accuracy), else log.
  `function log1mf(v) {
    if (v < 0.015625) { return -v * (1.0 + v * (0.5 + v * (0.3333333333 + v * 0.25))); }
    return Math.log(1.0 - v);
  }`,
  // sin(2πb) and cos(2πb) for b ∈ [0, 1/8], i.e. angles in [0, π/4]: Taylor to the 9th / 10th power,
  // below 2·10⁻⁹ truncation error there.
  `function sin2pi(b) {
    const x = 6.283185307179586 * b;
    const s = x * x;
    return x * (1.0 + s * (-0.16666666666666666 + s * (0.008333333333333333 + s * (-0.0001984126984126984 + s * 0.0000027557319223985893))));
  }`,
  `function cos2pi(b) {
    const x = 6.283185307179586 * b;
    const s = x * x;
    return 1.0 + s * (-0.5 + s * (0.041666666666666664 + s * (-0.001388888888888889 + s * (0.0000248015873015873 - s * 0.0000002755731922398589))));
  }`,
];

export function randomKernels(rt: Runtime) {
  function random(out: GpujsBuffer, p: RandomParams): void {
    rt.alive('random');
    if (out.dtype !== 'float32') throw new TesseraError('random', `the output must be float32, got ${out.dtype}`);
    if (!Number.isSafeInteger(p.seed) || p.seed < 0) throw new TesseraError('random', `seed must be a non-negative safe integer, got ${p.seed}`);
    if (!Number.isSafeInteger(p.offset) || p.offset < 0) throw new TesseraError('random', `offset must be a non-negative safe integer, got ${p.offset}`);
    // The reference computes (and validates) the fill's float32 constants; with an empty array it draws nothing.
    const c = randomConstants(p, 'float32');
    const meta = streamMeta(p);
    if (c.dist === 'uniform') {
      const k = rt.kernel(
        'random:uniform',
        () =>
          `function (m, lo, range, threshold, replacement, zero) {${COUNTER}
        const prod = range * ${u('lane')} + zero;
        let v = lo + prod;
        if (Math.abs(v) < m[11]) { v = 0.0; }
        if (v >= threshold) { return replacement; }
        return v;
      }`,
      );
      rt.run(k, out, [meta, c.lo, c.range, c.threshold, c.replacement, 0]);
    } else if (c.dist === 'bernoulli') {
      const k = rt.kernel(
        'random:bernoulli',
        () =>
          `function (m, p, scale) {${COUNTER}
        if (${u('lane')} < p) { return scale; }
        return 0.0;
      }`,
      );
      rt.run(k, out, [meta, c.p, c.scale]);
    } else if (c.dist === 'normal') {
      // Box–Muller on lane pairs (0, 1) and (2, 3): u1 = 1 ⊖ u(x₀), t = u(x₁) ⊖ ½, z = r·(cos, sin)(2πt).
      // The angle is reduced exactly (t is a multiple of 2⁻²³): |t| → ½ − |t| → ¼ − that, down to [0, 1/8].
      const k = rt.kernel(
        'random:normal',
        () =>
          `function (m, mean, std, zero) {${COUNTER}
        let pair = lane;
        if (lane == 1.0 || lane == 3.0) { pair = lane - 1.0; }
        const v = ${u('pair')};
        const t = ${u('pair + 1.0')} - 0.5;
        const r = Math.sqrt(Math.max(-2.0 * log1mf(v), 0.0));
        let a = Math.abs(t);
        let cosSign = 1.0;
        if (a > 0.25) { a = 0.5 - a; cosSign = -1.0; }
        let sn = 0.0;
        let cs = 0.0;
        if (a > 0.125) {
          sn = cos2pi(0.25 - a);
          cs = sin2pi(0.25 - a);
        } else {
          sn = sin2pi(a);
          cs = cos2pi(a);
        }
        let z = cosSign * cs;
        if (lane != pair) {
          z = sn;
          if (t < 0.0) { z = -sn; }
        }
        const rz = r * z + zero;
        const sz = std * rz + zero;
        let out = mean + sz;
        if (Math.abs(out) < m[11]) { out = 0.0; }
        return out;
      }`,
      );
      rt.run(k, out, [meta, c.mean, c.std, 0]);
    } else {
      throw new TesseraError('random', `unknown distribution ${JSON.stringify((p as { dist: string }).dist)}`);
    }
  }

  return { random };
}
