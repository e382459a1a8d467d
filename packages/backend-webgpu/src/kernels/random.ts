/**
 * Philox 4x32-10 random fills reproducing random/philox.ts bit for bit: one invocation per counter block
 * (four elements).
 * - uniform: the reference computes fround(low + (high − low)·u) in float64 (then, where that reaches high,
 *   the float32 below high). To produce exactly its bits for any low and high, the kernel emulates those
 *   float64 operations (a 53-bit multiply and add with round-to-nearest-even, then the rounding to float32)
 *   in integer arithmetic.
 * - bernoulli: u < fround(p), exact in float32.
 * - normal: Box–Muller with a Cephes-style logarithm and a sine/cosine whose argument reduction is exact
 *   (2π·u2 is reduced in turns, on the integer), so values agree with the float64 reference to an ulp or so;
 *   the GPU's built-in log/sin/cos are far less accurate.
 */
import type { RandomParams } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { WG, mainHeader, storage } from '../wgsl/common.js';
import { planLinear } from './linear.js';

export const PHILOX = /* wgsl */ `
// (high, low) words of the 64-bit product of two u32s.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  let aLo = a & 0xffffu;
  let aHi = a >> 16u;
  let bLo = b & 0xffffu;
  let bHi = b >> 16u;
  let lolo = aLo * bLo;
  let lohi = aLo * bHi;
  let hilo = aHi * bLo;
  let hihi = aHi * bHi;
  let cross = (lolo >> 16u) + (lohi & 0xffffu) + (hilo & 0xffffu);
  return vec2<u32>(hihi + (lohi >> 16u) + (hilo >> 16u) + (cross >> 16u), a * b);
}
fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var r = 0; r < 10; r++) {
    let p0 = mulhilo(0xd2511f53u, c.x);
    let p1 = mulhilo(0xcd9e8d57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}
`;

/** Just enough IEEE binary64 in u32 arithmetic: unpack, multiply by a 24-bit integer, add, round to f32. */
const SOFT_DOUBLE = /* wgsl */ `
struct SD { neg: bool, zero: bool, e: i32, hi: u32, lo: u32 }
// value = (hi·2^32 + lo)·2^e with a 53-bit significand (subnormal doubles normalised).
fn sd_unpack(hi: u32, lo: u32) -> SD {
  let ex = i32((hi >> 20u) & 0x7ffu);
  let neg = (hi >> 31u) != 0u;
  if (ex == 0) { return sd_round(neg, vec3<u32>(lo, hi & 0xfffffu, 0u), -1074); }
  return SD(neg, false, ex - 1075, (hi & 0xfffffu) | 0x100000u, lo);
}
fn bitlen32(x: u32) -> u32 { return 32u - countLeadingZeros(x); }
fn bitlen96(w: vec3<u32>) -> u32 {
  if (w.z != 0u) { return 64u + bitlen32(w.z); }
  if (w.y != 0u) { return 32u + bitlen32(w.y); }
  return bitlen32(w.x);
}
fn shr96(w: vec3<u32>, n: u32) -> vec3<u32> {
  if (n >= 96u) { return vec3<u32>(0u); }
  var v = w;
  var k = n;
  if (k >= 64u) { v = vec3<u32>(v.z, 0u, 0u); k -= 64u; } else if (k >= 32u) { v = vec3<u32>(v.y, v.z, 0u); k -= 32u; }
  if (k == 0u) { return v; }
  return vec3<u32>((v.x >> k) | (v.y << (32u - k)), (v.y >> k) | (v.z << (32u - k)), v.z >> k);
}
fn shl96(w: vec3<u32>, n: u32) -> vec3<u32> {
  if (n >= 96u) { return vec3<u32>(0u); }
  var v = w;
  var k = n;
  if (k >= 64u) { v = vec3<u32>(0u, 0u, v.x); k -= 64u; } else if (k >= 32u) { v = vec3<u32>(0u, v.x, v.y); k -= 32u; }
  if (k == 0u) { return v; }
  return vec3<u32>(v.x << k, (v.y << k) | (v.x >> (32u - k)), (v.z << k) | (v.y >> (32u - k)));
}
// Whether any of the bits below position n are set.
fn low_nonzero(w: vec3<u32>, n: u32) -> bool {
  if (n == 0u) { return false; }
  if (n >= 96u) { return any(w != vec3<u32>(0u)); }
  return any(shl96(w, 96u - n) != vec3<u32>(0u));
}
fn bit96(w: vec3<u32>, n: u32) -> u32 { return shr96(w, n).x & 1u; }
fn add96(a: vec3<u32>, b: vec3<u32>) -> vec3<u32> {
  let x = a.x + b.x;
  let c0 = select(0u, 1u, x < a.x);
  let y1 = a.y + b.y;
  let c1 = select(0u, 1u, y1 < a.y);
  let y = y1 + c0;
  let c2 = select(0u, 1u, y < y1);
  return vec3<u32>(x, y, a.z + b.z + c1 + c2);
}
fn sub96(a: vec3<u32>, b: vec3<u32>) -> vec3<u32> {
  let x = a.x - b.x;
  let b0 = select(0u, 1u, a.x < b.x);
  let y1 = a.y - b.y;
  let b1 = select(0u, 1u, a.y < b.y);
  let y = y1 - b0;
  let b2 = select(0u, 1u, y1 < b0);
  return vec3<u32>(x, y, a.z - b.z - b1 - b2);
}
// W·2^e rounded to a 53-bit significand, ties to even; below 2^-1022 to the subnormal quantum 2^-1074.
fn sd_round(neg: bool, W: vec3<u32>, e: i32) -> SD {
  let L = i32(bitlen96(W));
  if (L == 0) { return SD(neg, true, 0, 0u, 0u); }
  var s = L - 53;
  if (e + s < -1074) { s = -1074 - e; }
  if (s <= 0) {
    let v = shl96(W, u32(-s));
    return SD(neg, false, e + s, v.y, v.x);
  }
  let us = u32(s);
  var m = shr96(W, us);
  let rb = bit96(W, us - 1u);
  let sticky = low_nonzero(W, us - 1u);
  if (rb == 1u && (sticky || (m.x & 1u) == 1u)) { m = add96(m, vec3<u32>(1u, 0u, 0u)); }
  if (all(m == vec3<u32>(0u))) { return SD(neg, true, 0, 0u, 0u); }
  var ee = e + s;
  if (bitlen96(m) > 53u) { m = shr96(m, 1u); ee += 1; }
  return SD(neg, false, ee, m.y, m.x);
}
// r · k · 2^-24 for a 24-bit integer k (u = k·2^-24 is exact).
fn sd_mul_u(r: SD, k: u32) -> SD {
  if (r.zero || k == 0u) { return SD(r.neg, true, 0, 0u, 0u); }
  let pl = mulhilo(r.lo, k);
  let ph = mulhilo(r.hi, k);
  let w1 = ph.y + pl.x;
  let c = select(0u, 1u, w1 < ph.y);
  return sd_round(r.neg, vec3<u32>(pl.y, w1, ph.x + c), r.e - 24);
}
fn sd_add(a: SD, b: SD) -> SD {
  if (b.zero) {
    if (a.zero) { return SD(a.neg && b.neg, true, 0, 0u, 0u); }
    return a;
  }
  if (a.zero) { return b; }
  var x = a;
  var y = b;
  if (b.e > a.e || (b.e == a.e && (b.hi > a.hi || (b.hi == a.hi && b.lo > a.lo)))) { x = b; y = a; }
  let d = u32(x.e - y.e);
  let X = vec3<u32>(0u, x.lo, x.hi);
  let Yfull = vec3<u32>(0u, y.lo, y.hi);
  var Y = shr96(Yfull, d);
  // Bits shifted out are jammed into the lowest bit: enough for correct rounding with 32 guard bits.
  if (low_nonzero(Yfull, min(d, 96u))) { Y.x = Y.x | 1u; }
  var S: vec3<u32>;
  if (x.neg == y.neg) { S = add96(X, Y); } else { S = sub96(X, Y); }
  if (all(S == vec3<u32>(0u))) { return SD(false, true, 0, 0u, 0u); }
  return sd_round(x.neg, S, x.e - 32);
}
// a ≥ b for float32 bit patterns (not NaN), in integers: exact for subnormals a GPU may flush.
fn f32_order(b: u32) -> u32 {
  let z = select(b, 0u, b == 0x80000000u);
  return select(z | 0x80000000u, ~z, (z >> 31u) != 0u);
}
fn f32_bits_ge(a: u32, b: u32) -> bool { return f32_order(a) >= f32_order(b); }
// Math.fround: to float32 bits, ties to even, subnormals and overflow included.
fn sd_to_f32_bits(v: SD) -> u32 {
  let sign = select(0u, 0x80000000u, v.neg);
  if (v.zero) { return sign; }
  let biased = v.e + 52 + 127;
  if (biased >= 255) { return sign | 0x7f800000u; }
  var shift = 29u;
  if (biased < 1) {
    let extra = 1 - biased;
    if (extra > 30) { return sign; }
    shift = 29u + u32(extra);
  }
  let W = vec3<u32>(v.lo, v.hi, 0u);
  var m = shr96(W, shift).x;
  if (bit96(W, shift - 1u) == 1u && (low_nonzero(W, shift - 1u) || (m & 1u) == 1u)) { m += 1u; }
  var bits = m;
  if (biased >= 1) { bits = (u32(biased - 1) << 23u) + m; }
  if (bits >= 0x7f800000u) { return sign | 0x7f800000u; }
  return sign | bits;
}
`;

/** log(x) for x in (0, 1] (Cephes logf), and sin/cos of 2π·j/2^24 with exact reduction in turns. */
const NORMAL_MATH = /* wgsl */ `
fn log_acc(x: f32) -> f32 {
  let b = bitcast<u32>(x);
  var e = i32(b >> 23u) - 126;
  var m = bitcast<f32>((b & 0x7fffffu) | 0x3f000000u);
  if (m < 0.70710678118654752440) { e -= 1; m = m + m - 1.0; } else { m = m - 1.0; }
  let z = m * m;
  var y = 7.0376836292e-2;
  y = y * m - 1.1514610310e-1;
  y = y * m + 1.1676998740e-1;
  y = y * m - 1.2420140846e-1;
  y = y * m + 1.4249322787e-1;
  y = y * m - 1.6668057665e-1;
  y = y * m + 2.0000714765e-1;
  y = y * m - 2.4999993993e-1;
  y = y * m + 3.3333331174e-1;
  y = y * m * z;
  let fe = f32(e);
  y += -2.12194440e-4 * fe;
  y += -0.5 * z;
  return m + y + 0.693359375 * fe;
}
fn sin_poly(x: f32) -> f32 {
  let z = x * x;
  return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * x + x;
}
fn cos_poly(x: f32) -> f32 {
  let z = x * x;
  return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
}
// (sin, cos) of 2π·j/2^24 for a 24-bit j: octant from the top 3 bits, the rest an angle in [0, π/4].
fn sincos_turns(j: u32) -> vec2<f32> {
  let q = j >> 21u;
  let rest = j & 0x1fffffu;
  let unit = 3.7450702e-7; // 2π / 2^24
  let a = f32(rest) * unit;
  let b = f32(0x200000u - rest) * unit;
  let sa = sin_poly(a);
  let ca = cos_poly(a);
  let sb = sin_poly(b);
  let cb = cos_poly(b);
  switch (q) {
    case 0u: { return vec2<f32>(sa, ca); }
    case 1u: { return vec2<f32>(cb, sb); }
    case 2u: { return vec2<f32>(ca, -sa); }
    case 3u: { return vec2<f32>(sb, -cb); }
    case 4u: { return vec2<f32>(-sa, -ca); }
    case 5u: { return vec2<f32>(-cb, -sb); }
    case 6u: { return vec2<f32>(-ca, sa); }
    default: { return vec2<f32>(-sb, cb); }
  }
}
`;

const params = new Params([
  ['n', 'u32'],
  ['blockBase', 'u32'],
  ['seedLo', 'u32'],
  ['seedHi', 'u32'],
  ['offLo', 'u32'],
  ['offHi', 'u32'],
  ['a0', 'u32'],
  ['a1', 'u32'],
  ['a2', 'u32'],
  ['a3', 'u32'],
  ['a4', 'u32'],
  ['a5', 'u32'],
  ['a6', 'u32'],
  ['a7', 'u32'],
  ['a8', 'u32'],
]);

const TWO_POW_32 = 4294967296;
const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Word = new Uint32Array(f32.buffer);

/** [high, low] words of a float64. */
function doubleWords(x: number): [number, number] {
  f64[0] = x;
  return [f64Words[1]!, f64Words[0]!];
}

function floatBits(x: number): number {
  f32[0] = x;
  return f32Word[0]!;
}

/** The reference's `below(high)`: the float32 next to fround(high), towards −∞ (random/philox.ts). */
function floatBelow(x: number): number {
  if (x === 0) return -1.401298464324817e-45;
  f32[0] = x;
  f32Word[0] = x > 0 ? f32Word[0]! - 1 : f32Word[0]! + 1;
  return f32[0]!;
}

/** The smallest float32 ≥ x (+∞ above the float32 range): for a float32 v, v ≥ x ⇔ v ≥ floatAtLeast(x). */
function floatAtLeast(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  f32[0] = f;
  f32Word[0] = f > 0 ? f32Word[0]! + 1 : f === 0 ? 1 : f32Word[0]! - 1;
  return f32[0]!;
}

export function randomKernels(rt: Runtime) {
  function kernel(dist: RandomParams['dist']) {
    return rt.kernel(`random:${dist}`, () => {
      let lanes: string;
      if (dist === 'uniform') {
        lanes =
          `  let range = sd_unpack(a0, a1);\n  let low = sd_unpack(a2, a3);\n` +
          `  for (var l = 0u; l < 4u; l++) {\n    let e = 4u * b + l;\n    if (e >= n) { break; }\n    let k = x[l] >> 8u;\n` +
          // Non-finite bounds: the host precomputed the two possible results (u = 0 and u > 0).
          `    if ((a4 & 1u) != 0u) { O[e] = select(a6, a5, k == 0u); continue; }\n` +
          `    var v = sd_to_f32_bits(sd_add(low, sd_mul_u(range, k)));\n` +
          // Where rounding reaches high, the largest float32 below high instead (as the reference does).
          `    if ((a4 & 2u) != 0u && f32_bits_ge(v, a7)) { v = a8; }\n` +
          `    O[e] = v;\n  }\n`;
      } else if (dist === 'bernoulli') {
        lanes =
          `  let p = bitcast<f32>(a0);\n` +
          `  for (var l = 0u; l < 4u; l++) {\n    let e = 4u * b + l;\n` +
          `    if (e < n) { let u = f32(x[l] >> 8u) * 5.9604644775390625e-8; O[e] = select(0u, a1, u < p); }\n  }\n`;
      } else {
        lanes =
          `  let mean = bitcast<f32>(a0);\n  let sd = bitcast<f32>(a1);\n` +
          `  for (var pair = 0u; pair < 4u; pair += 2u) {\n    let e = 4u * b + pair;\n    if (e >= n) { break; }\n` +
          `    let u1 = f32((x[pair] >> 8u) + 1u) * 5.9604644775390625e-8;\n` +
          `    let r = sqrt(-2.0 * log_acc(u1));\n    let sc = sincos_turns(x[pair + 1u] >> 8u);\n` +
          `    O[e] = bitcast<u32>(mean + sd * (r * sc.y));\n` +
          `    if (e + 1u < n) { O[e + 1u] = bitcast<u32>(mean + sd * (r * sc.x)); }\n  }\n`;
      }
      return {
        params,
        kinds: ['write'],
        code:
          PHILOX +
          (dist === 'uniform' ? SOFT_DOUBLE : '') +
          (dist === 'normal' ? NORMAL_MATH : '') +
          params.decl() +
          storage(1, 'write', 'O', 'u32') +
          mainHeader() +
          params.lets() +
          `  let b = i;\n  if (4u * b >= n) { return; }\n` +
          `  let blk = blockBase + b;\n  let lo = offLo + blk;\n  let hi = offHi + select(0u, 1u, lo < offLo);\n` +
          `  let x4 = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(seedLo, seedHi));\n` +
          `  var x = array<u32, 4>(x4.x, x4.y, x4.z, x4.w);\n` +
          lanes +
          `}\n`,
      };
    });
  }

  function random(out: GpuBuffer, p: RandomParams): void {
    rt.alive('random');
    const k = kernel(p.dist);
    const seed = [(p.seed % TWO_POW_32) >>> 0, Math.floor(p.seed / TWO_POW_32) >>> 0];
    const off = [(p.offset % TWO_POW_32) >>> 0, Math.floor(p.offset / TWO_POW_32) >>> 0];
    let a: number[];
    if (p.dist === 'uniform') {
      const range = p.high - p.low;
      const finite = Number.isFinite(range) && Number.isFinite(p.low);
      const clamp = p.high > p.low;
      // With infinite bounds every u > 0 gives the same value: the host computes both possible results.
      const reference = (u: number) => {
        const v = Math.fround(p.low + range * u);
        return clamp && v >= p.high ? floatBelow(p.high) : v;
      };
      const flags = (finite ? 0 : 1) | (clamp ? 2 : 0);
      a = [
        ...doubleWords(range),
        ...doubleWords(p.low),
        flags,
        floatBits(reference(0)),
        floatBits(reference(0.5)),
        floatBits(floatAtLeast(p.high)),
        floatBits(floatBelow(p.high)),
      ];
    } else if (p.dist === 'bernoulli') a = [floatBits(p.p), floatBits(p.scale), 0, 0, 0, 0, 0, 0, 0];
    else a = [floatBits(p.mean), floatBits(p.std), 0, 0, 0, 0, 0, 0, 0];
    planLinear(rt, 'random', out.size, [{ buffer: out, role: 'output' }], (start, count, windows) => {
      // Chunks start on multiples of 64 elements, so on whole counter blocks.
      rt.run(
        k,
        {
          n: count,
          blockBase: start / 4,
          seedLo: seed[0]!,
          seedHi: seed[1]!,
          offLo: off[0]!,
          offHi: off[1]!,
          a0: a[0]!,
          a1: a[1]!,
          a2: a[2]!,
          a3: a[3]!,
          a4: a[4]!,
          a5: a[5]!,
          a6: a[6]!,
          a7: a[7]!,
          a8: a[8]!,
        },
        windows,
        rt.grid(Math.ceil(count / 4), WG),
      );
    });
  }

  return { random };
}
