/**
 * One tiled GEMM template behind matmul and the implicit-GEMM convolutions: a BM×BN tile of C per workgroup,
 * stepping through K in BK slices staged in workgroup memory; each invocation accumulates a TM×4 block of
 * outputs in registers from vec4 reads of the staged tiles. The operands are never materialised: a kernel
 * supplies WGSL that loads A(m, k) and B(k, n) from wherever they live (a strided matrix, an image gathered
 * on the fly for a convolution) and stores C(m, n).
 *
 * Each staged element is loaded by one invocation; the loading pattern keeps one coordinate fixed per
 * invocation (`fast` says which coordinate varies fastest across neighbouring invocations, for coalescing),
 * so a kernel can decode that coordinate once per tile instead of once per element.
 */

export interface TileConfig {
  bm: number;
  bn: number;
  bk: number;
  /** Rows of C per invocation (a multiple of 4); each invocation covers 4 columns. */
  tm: number;
}

export const TILES = {
  /** 64×64 tiles, 8×4 per invocation, 128 invocations. */
  large: { bm: 64, bn: 64, bk: 16, tm: 8 },
  /** 32×64, 4×4 per invocation, for M ≤ 32. */
  medium: { bm: 32, bn: 64, bk: 16, tm: 4 },
  /** 16×64, 4×4 per invocation, for M ≤ 16 (a fully connected layer on a small batch). */
  small: { bm: 16, bn: 64, bk: 16, tm: 4 },
  /** 8×64 with 32 invocations, for M ≤ 8 when B is staged k-fastest (a fully connected forward). */
  tiny: { bm: 8, bn: 64, bk: 16, tm: 4 },
} as const satisfies Record<string, TileConfig>;

/**
 * The tile for a product with M rows and a reduction of K. `bStagedByColumn` says whether B is staged
 * column-fastest ('mn'), which needs at least BN invocations and so rules out the 32-invocation tile. A short
 * reduction (a weight gradient on a small batch) gets a shallower K slice instead of multiplying zeros.
 */
export function tileFor(m: number, k: number, bStagedByColumn: boolean): TileConfig {
  const base = m <= 8 && !bStagedByColumn ? TILES.tiny : m <= 16 ? TILES.small : m <= 32 ? TILES.medium : TILES.large;
  const bk = k <= 4 ? 4 : k <= 8 ? 8 : base.bk;
  return bk === base.bk ? base : { ...base, bk };
}

export function threadsOf(c: TileConfig): number {
  return (c.bm / c.tm) * (c.bn / 4);
}

export interface GemmSource {
  /** Declarations: uniform block, bindings, helper functions. */
  decls: string;
  /** WGSL run once per invocation before the K loop (`lets`, batch/group offsets, the K range: kBegin, kEnd). */
  prologue: string;
  /** Rows and columns of C (WGSL expressions valid after the prologue). */
  M: string;
  N: string;
  a: OperandLoader;
  b: OperandLoader;
  /** Statement storing `value` at C(gm, gn); both in range. */
  store: (gm: string, gn: string, value: string) => string;
}

export interface OperandLoader {
  /** 'mn': the row (A) / column (B) varies fastest across invocations; 'k': the k index does. */
  fast: 'mn' | 'k';
  /**
   * Statements run once per invocation for the fixed coordinate: the row/column `mn` when fast is 'mn'
   * (before the K loop), or the k index `k` when fast is 'k' (once per K slice). May declare variables.
   */
  fixed?: (coord: string) => string;
  /** Expression loading the element at (mn, k); evaluated only in range. */
  load: (mn: string, k: string) => string;
}

/**
 * Each staged k row is padded by one vec4: invocations that stage neighbouring k indices of one row or column
 * (the k-fastest pattern) then write to different memory banks instead of all to one.
 */
const PAD = 1;

export function gemmShader(src: GemmSource, c: TileConfig): string {
  const T = threadsOf(c);
  const { bm, bn, bk, tm } = c;
  // 'mn' staging fixes one row/column per invocation (T a multiple of the extent); 'k' staging one k index.
  const fits = (l: OperandLoader, extent: number) => (extent * bk) % T === 0 && (l.fast === 'mn' ? T % extent === 0 : T % bk === 0);
  if (!fits(src.a, bm) || !fits(src.b, bn)) throw new Error(`internal: GEMM tile ${bm}×${bn}×${bk} does not suit these operands`);

  /**
   * Staging of one operand's BK slice (`extent` is BM for A, BN for B). Loops rather than unrolled code:
   * shader compilers for CPUs (SwiftShader) take seconds on large straight-line blocks.
   */
  const stage = (l: OperandLoader, extent: number, origin: string, bound: string, tile: string): string => {
    const per = (extent * bk) / T;
    if (l.fast === 'mn') {
      // Invocation loads row/column `lid % extent` of the slice at k rows lid/extent + j·T/extent.
      return (
        `    for (var j = 0u; j < ${per}u; j++) {\n      let kk = lid / ${extent}u + j * ${T / extent}u;\n      let gk = k0 + kk;\n      var v = 0.0;\n` +
        `      if (${tile}_ok && gk < kEnd) { v = ${l.load(`${tile}_mn`, 'gk')}; }\n` +
        `      ${tile}s[kk * ${extent / 4 + PAD}u + ${tile}_col / 4u][${tile}_col % 4u] = v;\n    }\n`
      );
    }
    return (
      `    {\n      let kk = lid % ${bk}u;\n      let gk = k0 + kk;\n      let kin = gk < kEnd;\n${l.fixed ? indent(l.fixed('gk'), 6) : ''}` +
      `      for (var j = 0u; j < ${per}u; j++) {\n        let r = lid / ${bk}u + j * ${T / bk}u;\n        let gmn = ${origin} + r;\n        var v = 0.0;\n` +
      `        if (kin && gmn < ${bound}) { v = ${l.load('gmn', 'gk')}; }\n` +
      `        ${tile}s[kk * ${extent / 4 + PAD}u + r / 4u][r % 4u] = v;\n      }\n    }\n`
    );
  };

  const fixedMn = (l: OperandLoader, extent: number, origin: string, bound: string, tile: string): string =>
    l.fast === 'mn'
      ? `  let ${tile}_col = lid % ${extent}u;\n  let ${tile}_mn = ${origin} + ${tile}_col;\n  let ${tile}_ok = ${tile}_mn < ${bound};\n${l.fixed ? l.fixed(`${tile}_mn`) : ''}`
      : '';

  let inner = '';
  for (let r = 0; r < tm / 4; r++) {
    inner += `      let a${r} = As[kk * ${bm / 4 + PAD}u + ty * ${tm / 4}u + ${r}u];\n`;
    for (let q = 0; q < 4; q++) inner += `      acc[${r * 4 + q}] += a${r}.${'xyzw'[q]} * b;\n`;
  }

  // Rows unrolled (the accumulators stay in registers), columns looped (one copy of the store code per row).
  let epilogue = '';
  for (let r = 0; r < tm; r++) {
    const scalar = `for (var q = 0u; q < 4u; q++) { let gn = gn0 + q; if (gn < GN) { ${src.store('gm', 'gn', 'row[q]')} } }`;
    epilogue +=
      `  {\n    let gm = m0 + ty * ${tm}u + ${r}u;\n    let row = acc[${r}];\n    let gn0 = n0 + tx * 4u;\n    if (gm < GM) {\n` +
      `      ${scalar}\n` +
      `    }\n  }\n`;
  }

  return (
    src.decls +
    `var<workgroup> As: array<vec4<f32>, ${bk * (bm / 4 + PAD)}>;\n` +
    `var<workgroup> Bs: array<vec4<f32>, ${bk * (bn / 4 + PAD)}>;\n` +
    `@compute @workgroup_size(${T})\n` +
    `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {\n` +
    src.prologue +
    `  let GM = ${src.M};\n  let GN = ${src.N};\n` +
    `  let m0 = wid.y * ${bm}u;\n  let n0 = wid.x * ${bn}u;\n` +
    `  let tx = lid % ${bn / 4}u;\n  let ty = lid / ${bn / 4}u;\n` +
    fixedMn(src.a, bm, 'm0', 'GM', 'A') +
    fixedMn(src.b, bn, 'n0', 'GN', 'B') +
    `  var acc: array<vec4<f32>, ${tm}>;\n` +
    `  for (var k0 = kBegin; k0 < kEnd; k0 += ${bk}u) {\n` +
    stage(src.a, bm, 'm0', 'GM', 'A') +
    stage(src.b, bn, 'n0', 'GN', 'B') +
    `    workgroupBarrier();\n` +
    `    for (var kk = 0u; kk < ${bk}u; kk++) {\n` +
    `      let b = Bs[kk * ${bn / 4 + PAD}u + tx];\n` +
    inner +
    `    }\n    workgroupBarrier();\n  }\n` +
    epilogue +
    `}\n`
  );
}

function indent(s: string, n: number): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => (l.length > 0 ? pad + l : l))
    .join('\n');
}
