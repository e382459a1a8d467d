/**
 * Philox 4x32-10 random fills, one invocation per counter block (four elements), following the stream defined
 * in @tessera/tensor's random/philox.ts: integer Philox, u(x) by a bitcast, then a few float32 operations. The
 * host takes the fill's float32 constants from the reference (`randomConstants` in the toolkit, which returns them
 * validated), so uniform and bernoulli are bit-identical to the CPU backend: products are kept from fusing
 * into the following add, and results below 2⁻¹²⁶ are written as +0 whether or not this device flushed them.
 * Normal draws differ from the CPU only by float32 log, sqrt, sin and cos.
 */
import type { RandomParams } from '@tessera/tensor';
import { randomConstants, splitU64 } from '@tessera/tensor/backend';
import { planLinear } from '../binding-windows/contiguous.js';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { WG, mainHeader, storage } from '../wgsl/common.js';

const PHILOX = /* wgsl */ `
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
// u(x) = bitcast((x >> 9) | 0x3f800000) - 1, exact.
fn u01(x: u32) -> f32 { return bitcast<f32>((x >> 9u) | 0x3f800000u) - 1.0; }
// +0 below 2^-126 in magnitude, whether or not this device flushed the subnormal already.
fn ftz(v: f32) -> f32 { return select(v, 0.0, abs(v) < 1.1754943508222875e-38); }
`;

/**
 * The accurate float32 functions the normal fill needs where WGSL's built-ins fall short: log is guaranteed only
 * to 2⁻²¹ absolute on [0.5, 2] (useless relative to ln u1 just below 1), sin and cos only to 2⁻¹¹ absolute
 * (SwiftShader measured 1.9e-4). Everything else is native.
 */
const NORMAL_MATH = /* wgsl */ `
// ln(1 − u): for u < 2⁻⁶ the series −u(1 + u(1/2 + u(1/3 + u/4))) is within 2⁻²⁶ relative; else the native log.
fn log_one_minus(u: f32) -> f32 {
  if (u < 0.015625) { return -u * (1.0 + u * (0.5 + u * (0.333333343 + u * 0.25))); }
  return log(1.0 - u);
}
// (sin, cos) of 2π·m/2²³ for a 23-bit m. The reduction is exact, on the integer: octant q = m >> 20, and an
// angle a in [0, π/4] from the rest (measured from the octant's far end in odd octants); Cephes' float32
// minimax polynomials on [0, π/4]; then the octant's swap and signs.
fn sincos_turns(m: u32) -> vec2<f32> {
  let q = m >> 20u;
  let rest = m & 0xfffffu;
  let a = f32(select(rest, 0x100000u - rest, (q & 1u) == 1u)) * 7.4901407742800075e-7;
  let z = a * a;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * a + a;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  let sc = select(vec2<f32>(s, c), vec2<f32>(c, s), ((q + 1u) & 2u) != 0u);
  return vec2<f32>(select(sc.x, -sc.x, (q & 4u) != 0u), select(sc.y, -sc.y, ((q + 2u) & 4u) != 0u));
}
`;

const params = new Params([
  ['n', 'u32'],
  ['blockBase', 'u32'],
  ['seedLo', 'u32'],
  ['seedHi', 'u32'],
  ['offLo', 'u32'],
  ['offHi', 'u32'],
  // Always 0; XORing a product's bits with it keeps the compiler from fusing the product into the next add.
  ['zero', 'u32'],
  ['flags', 'u32'],
  ['c0', 'f32'],
  ['c1', 'f32'],
  ['c2', 'f32'],
  ['c3', 'f32'],
]);

/** `expr` rounded to float32 on its own: the opaque XOR stops a multiply-add contraction across it. */
const unfused = (expr: string) => `bitcast<f32>(bitcast<u32>(${expr}) ^ zero)`;

/** Per-block WGSL for each distribution; `x` holds the block's four words, `b` is the block index. */
const LANES: Record<RandomParams['dist'], string> = {
  // c0 = lo, c1 = range, c2 = threshold (the smallest float32 ≥ high), c3 = replacement; flags bit 0: clamp
  // (high > low and the threshold is finite).
  uniform:
    `  for (var l = 0u; l < 4u; l++) {\n    let e = 4u * b + l;\n    if (e >= n) { break; }\n` +
    `    var v = ftz(c0 + ${unfused('c1 * u01(x[l])')});\n` +
    `    if ((flags & 1u) != 0u && v >= c2) { v = c3; }\n` +
    `    O[e] = v;\n  }\n`,
  // c0 = f32(p), c1 = f32(scale).
  bernoulli: `  for (var l = 0u; l < 4u; l++) {\n    let e = 4u * b + l;\n    if (e < n) { O[e] = select(0.0, c1, u01(x[l]) < c0); }\n  }\n`,
  // c0 = mean, c1 = std; Box–Muller on lanes (0, 1) and (2, 3). The angle 2π·(u(x₁) − ½) is 2π·m/2²³ for
  // m = (x₁ >> 9) ^ 2²² (half a turn on), so sincos_turns reduces it exactly.
  normal:
    `  for (var pair = 0u; pair < 4u; pair += 2u) {\n    let e = 4u * b + pair;\n    if (e >= n) { break; }\n` +
    `    let r = sqrt(max(-2.0 * log_one_minus(u01(x[pair])), 0.0));\n` +
    `    let sc = sincos_turns((x[pair + 1u] >> 9u) ^ 0x400000u);\n` +
    `    O[e] = ftz(c0 + ${unfused('c1 * (r * sc.y)')});\n` +
    `    if (e + 1u < n) { O[e + 1u] = ftz(c0 + ${unfused('c1 * (r * sc.x)')}); }\n  }\n`,
};

export function randomKernels(rt: Runtime) {
  function kernel(dist: RandomParams['dist']) {
    return rt.kernel(`random:${dist}`, () => ({
      params,
      kinds: ['write'],
      code:
        PHILOX +
        (dist === 'normal' ? NORMAL_MATH : '') +
        params.decl() +
        storage(1, 'write', 'O', 'f32') +
        mainHeader() +
        params.lets() +
        `  let b = i;\n  if (4u * b >= n) { return; }\n` +
        `  let blk = blockBase + b;\n  let lo = offLo + blk;\n  let hi = offHi + select(0u, 1u, lo < offLo);\n` +
        `  let x4 = philox(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(seedLo, seedHi));\n` +
        `  let x = array<u32, 4>(x4.x, x4.y, x4.z, x4.w);\n` +
        LANES[dist] +
        `}\n`,
    }));
  }

  function random(out: GpuBuffer, p: RandomParams): void {
    rt.alive('random');
    const c = randomConstants(p, 'float32');
    let consts: [number, number, number, number];
    let flags = 0;
    if (c.dist === 'uniform') {
      const clamp = c.threshold !== Infinity;
      // WGSL may assume no infinities at run time, so the unclamped case is a flag, not an infinite threshold.
      consts = [c.lo, c.range, clamp ? c.threshold : 0, c.replacement];
      flags = clamp ? 1 : 0;
    } else if (c.dist === 'bernoulli') consts = [c.p, c.scale, 0, 0];
    else consts = [c.mean, c.std, 0, 0];
    const k = kernel(p.dist);
    const [seedLo, seedHi] = splitU64(p.seed);
    const [offLo, offHi] = splitU64(p.offset);
    planLinear(rt, 'random', out.size, [{ buffer: out, role: 'output' }], (start, count, windows) => {
      // Chunks start on multiples of 64 elements, so on whole counter blocks.
      rt.run(
        k,
        { n: count, blockBase: start / 4, seedLo, seedHi, offLo, offHi, zero: 0, flags, c0: consts[0], c1: consts[1], c2: consts[2], c3: consts[3] },
        windows,
        rt.grid(Math.ceil(count / 4), WG),
      );
    });
  }

  return { random };
}
