/**
 * topk over the last axis by ranking: element j of a row lands at position rank(j) = #{i : i comes before j}
 * (larger — or smaller — first, NaN as the greatest value, ties in index order), which is exactly the CPU's
 * stable order. One workgroup per (row, 256 candidates) streams the row through workgroup memory.
 */
import type { TopkParams } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { NUMERIC, storage, wgslType } from '../wgsl/common.js';

const TW = 256;

const params = new Params([
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['k', 'u32'],
  ['blocks', 'u32'],
]);

export function topkKernels(rt: Runtime) {
  function topk(x: GpuBuffer, values: GpuBuffer, indices: GpuBuffer, p: TopkParams): void {
    const op = 'topk';
    rt.alive(op);
    if (p.rows * p.k === 0) return;
    const t = wgslType(x.dtype);
    const nan = (v: string) => (t === 'f32' ? `is_nan(${v})` : 'false');
    const k = rt.kernel(`topk:${t}:${p.largest ? 'largest' : 'smallest'}`, () => ({
      params,
      kinds: ['read', 'write', 'write'],
      code:
        NUMERIC +
        params.decl() +
        storage(1, 'read', 'X', t) +
        storage(2, 'write', 'V', t) +
        storage(3, 'write', 'IDX', 'i32') +
        `fn before(va: ${t}, ia: u32, vb: ${t}, ib: u32) -> bool {\n` +
        `  let na = ${nan('va')};\n  let nb = ${nan('vb')};\n` +
        `  if (na != nb) { return ${p.largest ? 'na' : 'nb'}; }\n` +
        `  if (!na && va != vb) { return va ${p.largest ? '>' : '<'} vb; }\n  return ia < ib;\n}\n` +
        `var<workgroup> tile: array<${t}, ${TW}>;\n` +
        `@compute @workgroup_size(${TW})\n` +
        `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {\n` +
        params.lets() +
        `  let g = wid.x + wid.y * nwg.x;\n  let row = min(g / blocks, rows - 1u);\n  let live = g < rows * blocks;\n` +
        `  let j = (g % blocks) * ${TW}u + lid;\n  let base = row * cols;\n` +
        `  let mine = X[base + min(j, cols - 1u)];\n  var rank = 0u;\n` +
        `  for (var t0 = 0u; t0 < cols; t0 += ${TW}u) {\n` +
        `    if (t0 + lid < cols) { tile[lid] = X[base + t0 + lid]; }\n    workgroupBarrier();\n` +
        `    let m = min(${TW}u, cols - t0);\n` +
        `    for (var q = 0u; q < m; q++) { if (before(tile[q], t0 + q, mine, j)) { rank += 1u; } }\n` +
        `    workgroupBarrier();\n  }\n` +
        `  if (live && j < cols && rank < k) { V[row * k + rank] = mine; IDX[row * k + rank] = i32(j); }\n}\n`,
    }));
    const blocks = Math.ceil(p.cols / TW);
    rt.run(
      k,
      { rows: p.rows, cols: p.cols, k: p.k, blocks },
      [rt.whole(x, op, 'input'), rt.whole(values, op, 'values'), rt.whole(indices, op, 'indices')],
      rt.grid(p.rows * blocks, 1),
    );
  }

  return { topk };
}
