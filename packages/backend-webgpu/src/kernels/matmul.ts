/**
 * Batched matmul: the tiled GEMM template in general, a skinny kernel for M ≤ 4 and a shallow one for K ≤ 16
 * (neither multiplies tile padding). When an operand is larger than one storage binding (AlexNet's FC6 weight
 * is 151 MB, above WebGPU's default 128 MiB), the product is split: rows of C when A's rows or C are too
 * large, columns when a transposed B is, and K (accumulating into C) when a row-major B or a transposed A is —
 * each piece binding only the window of each operand it touches.
 */
import type { MatmulParams } from '@tessera/tensor';
import { TesseraError } from '@tessera/tensor';
import { type GpuBuffer, type Kernel, Params, type Runtime } from '../runtime.js';
import { storage } from '../wgsl/common.js';
import { type TileConfig, gemmShader, tileFor } from './gemm.js';

const params = new Params([
  ['M', 'u32'],
  ['N', 'u32'],
  ['K', 'u32'],
  ['aOff', 'u32'],
  ['aBS', 'u32'],
  ['ars', 'u32'],
  ['acs', 'u32'],
  ['bOff', 'u32'],
  ['bBS', 'u32'],
  ['brs', 'u32'],
  ['bcs', 'u32'],
  ['cOff', 'u32'],
  ['cBS', 'u32'],
  ['ldc', 'u32'],
  ['batch0', 'u32'],
  ['accumulate', 'u32'],
]);

function cfgKey(c: TileConfig): string {
  return `${c.bm}x${c.bn}x${c.bk}t${c.tm}`;
}

/** Reductions up to this long skip workgroup-memory tiling: each invocation reads its operands directly. */
const SHALLOW_K = 16;
const SHALLOW_WG = 8;

/**
 * C = A·B for K ≤ 16 (a weight gradient over a small batch): an outer product in all but name, where tiles
 * would spend their time staging and synchronising. Each invocation computes a 4×4 block straight from
 * global memory (every A and B element is read by the 8 invocations that share its row or column, from cache).
 */
function shallowShader(): string {
  const col = (r: number) => `select(0.0, A[aB + min(gm0 + ${r}u, M - 1u) * ars + k * acs], gm0 + ${r}u < M)`;
  const bv = (q: number) => `select(0.0, B[bB + k * brs + min(gn0 + ${q}u, N - 1u) * bcs], gn0 + ${q}u < N)`;
  return (
    params.decl() +
    storage(1, 'read', 'A', 'f32') +
    storage(2, 'read', 'B', 'f32') +
    storage(3, 'write', 'C', 'f32') +
    `@compute @workgroup_size(${SHALLOW_WG}, ${SHALLOW_WG})\n` +
    `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {\n` +
    params.lets() +
    `  let gn0 = gid.x * 4u;\n  let gm0 = gid.y * 4u;\n  if (gn0 >= N || gm0 >= M) { return; }\n` +
    `  let bz = wid.z + batch0;\n  let aB = aOff + bz * aBS;\n  let bB = bOff + bz * bBS;\n  let cB = cOff + bz * cBS;\n` +
    `  var acc: array<vec4<f32>, 4>;\n` +
    `  for (var k = 0u; k < K; k++) {\n` +
    `    let a = vec4<f32>(${col(0)}, ${col(1)}, ${col(2)}, ${col(3)});\n` +
    `    let b = vec4<f32>(${bv(0)}, ${bv(1)}, ${bv(2)}, ${bv(3)});\n` +
    `    acc[0] += a.x * b;\n    acc[1] += a.y * b;\n    acc[2] += a.z * b;\n    acc[3] += a.w * b;\n  }\n` +
    `  for (var r = 0u; r < 4u; r++) {\n    let gm = gm0 + r;\n    if (gm >= M) { break; }\n    let row = acc[r];\n` +
    `    for (var q = 0u; q < 4u; q++) {\n      let gn = gn0 + q;\n      if (gn < N) { let ci = cB + gm * ldc + gn; if (accumulate != 0u) { C[ci] += row[q]; } else { C[ci] = row[q]; } }\n    }\n  }\n}\n`
  );
}

/** Products with at most this many rows (a batch-1 layer, a vector) run the skinny kernel instead of tiles. */
const SKINNY_ROWS = 4;
const SKINNY_WG = 64;

/**
 * C = A·B for M ≤ 4: every row of A is reused across all columns, so tiles of 8+ rows would mostly multiply
 * zeros. Row-major B: one invocation per column (neighbours read neighbouring columns). Transposed B (its rows
 * contiguous in k): one workgroup per column, the k loop split across invocations and summed in workgroup
 * memory, so reads stay contiguous.
 */
function skinnyShader(transB: boolean): string {
  const aRows = `vec4<f32>(A[aB + k * acs], select(0.0, A[aB + min(1u, M - 1u) * ars + k * acs], M > 1u), select(0.0, A[aB + min(2u, M - 1u) * ars + k * acs], M > 2u), select(0.0, A[aB + min(3u, M - 1u) * ars + k * acs], M > 3u))`;
  const store =
    `  for (var r = 0u; r < M; r++) {\n    let ci = cB + r * ldc + n;\n` + `    if (accumulate != 0u) { C[ci] += acc[r]; } else { C[ci] = acc[r]; }\n  }\n`;
  const head = params.decl() + storage(1, 'read', 'A', 'f32') + storage(2, 'read', 'B', 'f32') + storage(3, 'write', 'C', 'f32');
  if (!transB) {
    return (
      head +
      `@compute @workgroup_size(${SKINNY_WG})\n` +
      `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {\n` +
      params.lets() +
      `  let n = gid.x;\n  if (n >= N) { return; }\n  let bz = wid.z + batch0;\n  let aB = aOff + bz * aBS;\n  let bB = bOff + bz * bBS;\n  let cB = cOff + bz * cBS;\n` +
      `  var acc = vec4<f32>(0.0);\n` +
      `  for (var k = 0u; k < K; k++) { acc += ${aRows} * B[bB + k * brs + n * bcs]; }\n` +
      store +
      `}\n`
    );
  }
  return (
    head +
    `var<workgroup> part: array<vec4<f32>, ${SKINNY_WG}>;\n` +
    `@compute @workgroup_size(${SKINNY_WG})\n` +
    `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {\n` +
    params.lets() +
    `  let n = wid.x + wid.y * nwg.x;\n  let live = n < N;\n  let bz = wid.z + batch0;\n  let aB = aOff + bz * aBS;\n  let bB = bOff + bz * bBS;\n  let cB = cOff + bz * cBS;\n` +
    `  var acc = vec4<f32>(0.0);\n` +
    `  let kEnd = select(0u, K, live);\n` +
    `  for (var k = lid; k < kEnd; k += ${SKINNY_WG}u) { acc += ${aRows} * B[bB + k * brs + n * bcs]; }\n` +
    `  part[lid] = acc;\n  workgroupBarrier();\n` +
    `  for (var s = ${SKINNY_WG / 2}u; s > 0u; s = s >> 1u) {\n    if (lid < s) { part[lid] += part[lid + s]; }\n    workgroupBarrier();\n  }\n` +
    `  if (lid != 0u || !live) { return; }\n  acc = part[0];\n` +
    store +
    `}\n`
  );
}

export function matmulKernels(rt: Runtime) {
  function skinny(transB: boolean) {
    return rt.kernel(`matmul-skinny:${transB ? 't' : 'n'}`, () => ({ params, kinds: ['read', 'read', 'write'], code: skinnyShader(transB) }));
  }

  /** Kernel and grid for an m×n product with a reduction of k over `batches` batch entries. */
  function plan(m: number, n: number, k: number, transA: boolean, transB: boolean, batches: number): { kernel: Kernel; grid: [number, number, number] } {
    if (m <= SKINNY_ROWS) {
      if (!transB) return { kernel: skinny(false), grid: [Math.ceil(n / SKINNY_WG), 1, batches] };
      const [x, y] = rt.grid(n, 1);
      return { kernel: skinny(true), grid: [x, y, batches] };
    }
    if (k <= SHALLOW_K) {
      const shallow = rt.kernel('matmul-shallow', () => ({ params, kinds: ['read', 'read', 'write'], code: shallowShader() }));
      return { kernel: shallow, grid: [Math.ceil(n / (4 * SHALLOW_WG)), Math.ceil(m / (4 * SHALLOW_WG)), batches] };
    }
    const cfg = tileFor(m, k, !transB);
    return { kernel: kernel(cfg, transA, transB), grid: [Math.ceil(n / cfg.bn), Math.ceil(m / cfg.bm), batches] };
  }

  function kernel(c: TileConfig, transA: boolean, transB: boolean) {
    return rt.kernel(`matmul:${cfgKey(c)}:${transA ? 't' : 'n'}${transB ? 't' : 'n'}`, () => ({
      params,
      kinds: ['read', 'read', 'write'],
      code: gemmShader(
        {
          decls: params.decl() + storage(1, 'read', 'A', 'f32') + storage(2, 'read', 'B', 'f32') + storage(3, 'write', 'C', 'f32'),
          prologue:
            params.lets() +
            `  let bz = wid.z + batch0;\n  let aB = aOff + bz * aBS;\n  let bB = bOff + bz * bBS;\n  let cB = cOff + bz * cBS;\n  let kBegin = 0u;\n  let kEnd = K;\n`,
          M: 'M',
          N: 'N',
          // Neighbouring invocations walk the operand's contiguous dimension.
          a: { fast: transA ? 'mn' : 'k', load: (m, k) => `A[aB + ${m} * ars + ${k} * acs]` },
          b: { fast: transB ? 'k' : 'mn', load: (n, k) => `B[bB + ${k} * brs + ${n} * bcs]` },
          store: (m, n, v) => `let ci = cB + ${m} * ldc + ${n}; if (accumulate != 0u) { C[ci] += ${v}; } else { C[ci] = ${v}; }`,
        },
        c,
      ),
    }));
  }

  function matmul(a: GpuBuffer, b: GpuBuffer, out: GpuBuffer, p: MatmulParams): void {
    const op = 'matmul';
    rt.alive(op);
    const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = p;
    if (batch * m * n === 0) return;
    const ars = transA ? 1 : k;
    const acs = transA ? m : 1;
    const brs = transB ? 1 : n;
    const bcs = transB ? k : 1;
    const maxZ = rt.limits.maxComputeWorkgroupsPerDimension;
    const limit = rt.limits.maxStorageBufferBindingSize;
    if (a.size * 4 <= limit && b.size * 4 <= limit && out.size * 4 <= limit) {
      const windows = [rt.whole(a, op, 'left operand'), rt.whole(b, op, 'right operand'), rt.whole(out, op, 'output')];
      for (let z = 0; z < batch; z += maxZ) {
        const { kernel: k0, grid } = plan(m, n, k, transA, transB, Math.min(maxZ, batch - z));
        if (grid[0] > maxZ || grid[1] > maxZ)
          throw new TesseraError(op, `a ${m}×${n} product needs more workgroups than this device dispatches (${maxZ} per dimension)`);
        const values = {
          M: m,
          N: n,
          K: k,
          aOff: 0,
          aBS: aBatchStride,
          ars,
          acs,
          bOff: 0,
          bBS: bBatchStride,
          brs,
          bcs,
          cOff: 0,
          cBS: m * n,
          ldc: n,
          batch0: z,
          accumulate: 0,
        };
        rt.run(k0, values, windows, grid);
      }
      return;
    }
    // Split until every operand window fits one binding.
    let sm = 1;
    let sn = 1;
    let sk = 1;
    const ceil = (x: number, y: number) => Math.ceil(x / y);
    for (;;) {
      const cm = ceil(m, sm);
      const cn = ceil(n, sn);
      const ck = ceil(k, sk);
      const okA = rt.fitsRange((cm - 1) * ars + (ck - 1) * acs + 1);
      const okB = rt.fitsRange((ck - 1) * brs + (cn - 1) * bcs + 1);
      const okC = rt.fitsRange((cm - 1) * n + cn);
      if (okA && okB && okC) break;
      if (!okC) {
        if (cm > 1) sm = Math.min(m, sm * 2);
        else sn = Math.min(n, sn * 2);
      } else if (!okA) {
        if (!transA && cm > 1) sm = Math.min(m, sm * 2);
        else if (ck > 1) sk = Math.min(k, sk * 2);
        else sm = Math.min(m, sm * 2);
      } else {
        if (transB && cn > 1) sn = Math.min(n, sn * 2);
        else if (ck > 1) sk = Math.min(k, sk * 2);
        else sn = Math.min(n, sn * 2);
      }
      if (ceil(m, sm) === 1 && ceil(n, sn) === 1 && ceil(k, sk) === 1 && !(okA && okB && okC)) {
        // Single elements always fit; only absurd limits end here.
        throw new TesseraError(op, `cannot split a ${m}×${k} · ${k}×${n} product to fit maxStorageBufferBindingSize ${limit}`);
      }
    }
    const cm = ceil(m, sm);
    const cn = ceil(n, sn);
    const ck = ceil(k, sk);
    for (let bi = 0; bi < batch; bi++) {
      for (let m0 = 0; m0 < m; m0 += cm) {
        const m1 = Math.min(m, m0 + cm);
        for (let n0 = 0; n0 < n; n0 += cn) {
          const n1 = Math.min(n, n0 + cn);
          for (let k0 = 0; k0 < k; k0 += ck) {
            const k1 = Math.min(k, k0 + ck);
            const aLo = bi * aBatchStride + m0 * ars + k0 * acs;
            const bLo = bi * bBatchStride + k0 * brs + n0 * bcs;
            const cLo = bi * m * n + m0 * n + n0;
            const wa = rt.window(a, aLo, aLo + (m1 - m0 - 1) * ars + (k1 - k0 - 1) * acs + 1);
            const wb = rt.window(b, bLo, bLo + (k1 - k0 - 1) * brs + (n1 - n0 - 1) * bcs + 1);
            const wc = rt.window(out, cLo, cLo + (m1 - m0 - 1) * n + (n1 - n0));
            const values = {
              M: m1 - m0,
              N: n1 - n0,
              K: k1 - k0,
              aOff: aLo - wa.base,
              aBS: 0,
              ars,
              acs,
              bOff: bLo - wb.base,
              bBS: 0,
              brs,
              bcs,
              cOff: cLo - wc.base,
              cBS: 0,
              ldc: n,
              batch0: 0,
              accumulate: k0 > 0 ? 1 : 0,
            };
            const { kernel: kk, grid } = plan(m1 - m0, n1 - n0, k1 - k0, transA, transB, 1);
            rt.run(kk, values, [wa, wb, wc], grid);
          }
        }
      }
    }
  }

  return { matmul };
}
