/**
 * Single-threaded GEMM core and the batched matmul kernel.
 *
 * The core follows the Goto/BLIS scheme: C is computed in MC×NC tiles; for every KC-deep slice the A and B
 * blocks are packed into contiguous float64 panels (MR rows / NR columns interleaved per k, zero-padded at
 * the edges, transposes and arbitrary strides resolved here), and a 4×4 register-blocked micro-kernel
 * accumulates into a float64 tile that is written to C once per tile. All accumulation is therefore in
 * doubles; float32 outputs are rounded once. Packing to float64 also measured faster than float32 panels
 * in V8 (no conversion per load in the micro-kernel). Where WebAssembly SIMD is available the tile loop runs
 * in gemm-wasm.ts's module (≈4× faster); micro4x4 is the portable fallback with identical results.
 *
 * The functions from `gemm` down are self-contained (they reference only each other, literals and globals)
 * because worker threads rebuild them from their source text; see ../threads.ts.
 */
import type { MatmulParams } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { type FloatArray, floats } from './util.js';

/** Per-thread packing buffers, the float64 C tile and, where available, the WebAssembly block kernel. */
export interface GemmScratch {
  pa: Float64Array;
  pb: Float64Array;
  ct: Float64Array;
  /** gemm-wasm.ts's `block` over pa/pb/ct, which then live in its memory; null to use micro4x4. */
  block: ((mcp: number, ncp: number, kc: number, pa: number, pb: number, ct: number, ldt: number, first: number) => void) | null;
  /** Byte addresses of pa, pb and ct in the WebAssembly memory. */
  paAt: number;
  pbAt: number;
  ctAt: number;
}

/**
 * C[cOff + i·ldc + j] = Σ_k A[aOff + i·ars + k·acs] · B[bOff + k·brs + j·bcs] (+ C[…] when beta is 1) for
 * i < m, j < n. Any strides, so transposed or sliced operands need no copy.
 */
export type GemmFn = (
  m: number,
  n: number,
  k: number,
  A: FloatArray,
  aOff: number,
  ars: number,
  acs: number,
  B: FloatArray,
  bOff: number,
  brs: number,
  bcs: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  beta: number,
) => void;

interface WasmInstantiate {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** Scratch for one thread; with `wasm` (GEMM_WASM's bytes) the block kernel is instantiated into it. */
export function createGemmScratch(wasm: Uint8Array | null): GemmScratch {
  // MC·KC, KC·NC and MC·NC doubles for the blocking constants in gemm(); 1 MiB, the module's memory.
  const PA = 128 * 256;
  const PB = 256 * 256;
  const CT = 128 * 256;
  const api = (globalThis as unknown as { WebAssembly?: WasmInstantiate }).WebAssembly;
  if (wasm && api) {
    try {
      const { exports } = new api.Instance(new api.Module(wasm), {});
      const memory = exports['mem'] as { buffer: ArrayBuffer };
      const block = exports['block'] as GemmScratch['block'];
      const buf = memory.buffer;
      if (buf.byteLength >= (PA + PB + CT) * 8) {
        return {
          pa: new Float64Array(buf, 0, PA),
          pb: new Float64Array(buf, PA * 8, PB),
          ct: new Float64Array(buf, (PA + PB) * 8, CT),
          block,
          paAt: 0,
          pbAt: PA * 8,
          ctAt: (PA + PB) * 8,
        };
      }
    } catch {
      // Fall back to the JS micro-kernel below.
    }
  }
  return { pa: new Float64Array(PA), pb: new Float64Array(PB), ct: new Float64Array(CT), block: null, paAt: 0, pbAt: 0, ctAt: 0 };
}

export function gemm(
  m: number,
  n: number,
  k: number,
  A: FloatArray,
  aOff: number,
  ars: number,
  acs: number,
  B: FloatArray,
  bOff: number,
  brs: number,
  bcs: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  beta: number,
  s: GemmScratch,
): void {
  // Blocking: a KC×NR B panel (8 KiB) stays in L1 while A panels stream from L2; the MC×NC float64 tile
  // (256 KiB) stays in L2. Throughput is flat within about 2× of these values.
  const KC = 256;
  const MC = 128;
  const NC = 256;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (let i = 0; i < m; i++) {
      const row = cOff + i * ldc;
      for (let j = 0; j < n; j++) C[row + j] = beta === 0 ? 0 : C[row + j]!;
    }
    return;
  }
  // A single row or column has no reuse to block for: dot products or axpys beat padding to 4×4 tiles.
  if (m === 1) {
    gemvRow(n, k, A, aOff, acs, B, bOff, brs, bcs, C, cOff, 1, beta, s.ct);
    return;
  }
  if (n === 1) {
    gemvRow(m, k, B, bOff, brs, A, aOff, acs, ars, C, cOff, ldc, beta, s.ct);
    return;
  }
  const pa = s.pa;
  const pb = s.pb;
  const ct = s.ct;
  // Equal blocks (e.g. k = 182 + 181 rather than 256 + 107) keep the per-tile overhead amortised; m and n
  // blocks stay multiples of the 4×4 tile.
  const kStep = Math.ceil(k / Math.ceil(k / KC));
  const mStep = Math.ceil(m / Math.ceil(m / MC) / 4) * 4;
  const nStep = Math.ceil(n / Math.ceil(n / NC) / 4) * 4;
  for (let jc = 0; jc < n; jc += nStep) {
    const nc = Math.min(nStep, n - jc);
    const ncp = (nc + 3) & ~3;
    for (let ic = 0; ic < m; ic += mStep) {
      const mc = Math.min(mStep, m - ic);
      const mcp = (mc + 3) & ~3;
      for (let pc = 0; pc < k; pc += kStep) {
        const kc = Math.min(kStep, k - pc);
        packB(B, bOff + pc * brs + jc * bcs, brs, bcs, kc, nc, pb);
        packA(A, aOff + ic * ars + pc * acs, ars, acs, mc, kc, pa);
        const first = pc === 0;
        if (s.block) {
          s.block(mcp, ncp, kc, s.paAt, s.pbAt, s.ctAt, ncp * 8, first ? 1 : 0);
          continue;
        }
        for (let jr = 0; jr < ncp; jr += 4) {
          for (let ir = 0; ir < mcp; ir += 4) {
            micro4x4(kc, pa, ir * kc, pb, jr * kc, ct, ir * ncp + jr, ncp, first);
          }
        }
      }
      for (let i = 0; i < mc; i++) {
        const row = cOff + (ic + i) * ldc + jc;
        const t = i * ncp;
        if (beta === 0) for (let j = 0; j < nc; j++) C[row + j] = ct[t + j]!;
        else for (let j = 0; j < nc; j++) C[row + j] = C[row + j]! + ct[t + j]!;
      }
    }
  }
}

/** Packs A[mc×kc] into MR=4-row panels: pa[(i/4)·kc·4 + k·4 + i%4], zero rows past mc. */
function packA(A: FloatArray, off: number, rs: number, cs: number, mc: number, kc: number, pa: Float64Array): void {
  let p = 0;
  for (let i0 = 0; i0 < mc; i0 += 4) {
    const r0 = off + i0 * rs;
    if (mc - i0 >= 4) {
      const r1 = r0 + rs;
      const r2 = r1 + rs;
      const r3 = r2 + rs;
      for (let kk = 0, c = 0; kk < kc; kk++, c += cs, p += 4) {
        pa[p] = A[r0 + c]!;
        pa[p + 1] = A[r1 + c]!;
        pa[p + 2] = A[r2 + c]!;
        pa[p + 3] = A[r3 + c]!;
      }
    } else {
      const mr = mc - i0;
      for (let kk = 0, c = 0; kk < kc; kk++, c += cs, p += 4) {
        for (let i = 0; i < 4; i++) pa[p + i] = i < mr ? A[r0 + i * rs + c]! : 0;
      }
    }
  }
}

/** Packs B[kc×nc] into NR=4-column panels: pb[(j/4)·kc·4 + k·4 + j%4], zero columns past nc — packA of Bᵀ. */
function packB(B: FloatArray, off: number, rs: number, cs: number, kc: number, nc: number, pb: Float64Array): void {
  packA(B, off, cs, rs, nc, kc, pb);
}

/**
 * ct[4×4 at co, row stride ldt] (=, or += unless `first`) Σ_k pa[ao + 4k + i] · pb[bo + 4k + j]. The 16
 * accumulators live in locals, i.e. in registers (with a few spills) once V8 optimises the function.
 */
// prettier-ignore
function micro4x4(kc: number, pa: Float64Array, ao: number, pb: Float64Array, bo: number, ct: Float64Array, co: number, ldt: number, first: boolean): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let kk = 0; kk < kc; kk++, ao += 4, bo += 4) {
    const a0 = pa[ao]!, a1 = pa[ao + 1]!, a2 = pa[ao + 2]!, a3 = pa[ao + 3]!;
    const b0 = pb[bo]!, b1 = pb[bo + 1]!, b2 = pb[bo + 2]!, b3 = pb[bo + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  const o0 = co, o1 = co + ldt, o2 = o1 + ldt, o3 = o2 + ldt;
  if (first) {
    ct[o0] = c00; ct[o0 + 1] = c01; ct[o0 + 2] = c02; ct[o0 + 3] = c03;
    ct[o1] = c10; ct[o1 + 1] = c11; ct[o1 + 2] = c12; ct[o1 + 3] = c13;
    ct[o2] = c20; ct[o2 + 1] = c21; ct[o2 + 2] = c22; ct[o2 + 3] = c23;
    ct[o3] = c30; ct[o3 + 1] = c31; ct[o3 + 2] = c32; ct[o3 + 3] = c33;
  } else {
    ct[o0] = ct[o0]! + c00; ct[o0 + 1] = ct[o0 + 1]! + c01; ct[o0 + 2] = ct[o0 + 2]! + c02; ct[o0 + 3] = ct[o0 + 3]! + c03;
    ct[o1] = ct[o1]! + c10; ct[o1 + 1] = ct[o1 + 1]! + c11; ct[o1 + 2] = ct[o1 + 2]! + c12; ct[o1 + 3] = ct[o1 + 3]! + c13;
    ct[o2] = ct[o2]! + c20; ct[o2 + 1] = ct[o2 + 1]! + c21; ct[o2 + 2] = ct[o2 + 2]! + c22; ct[o2 + 3] = ct[o2 + 3]! + c23;
    ct[o3] = ct[o3]! + c30; ct[o3 + 1] = ct[o3 + 1]! + c31; ct[o3 + 2] = ct[o3 + 2]! + c32; ct[o3 + 3] = ct[o3 + 3]! + c33;
  }
}

/**
 * C[cOff + j·cs] = Σ_k x[xOff + k·xs] · M[mOff + k·mrs + j·mcs] (+ C when beta is 1), j < n: a vector times a
 * matrix, as dot products when M's columns are contiguous in k, else as float64 axpys over rows of M.
 */
function gemvRow(
  n: number,
  k: number,
  x: FloatArray,
  xOff: number,
  xs: number,
  M: FloatArray,
  mOff: number,
  mrs: number,
  mcs: number,
  C: FloatArray,
  cOff: number,
  cs: number,
  beta: number,
  acc: Float64Array,
): void {
  if (mrs === 1 || mcs !== 1) {
    for (let j = 0; j < n; j++) {
      const col = mOff + j * mcs;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      let kk = 0;
      // Four partial sums break the add dependency chain.
      for (; kk + 4 <= k; kk += 4) {
        const xi = xOff + kk * xs;
        const mi = col + kk * mrs;
        s0 += x[xi]! * M[mi]!;
        s1 += x[xi + xs]! * M[mi + mrs]!;
        s2 += x[xi + 2 * xs]! * M[mi + 2 * mrs]!;
        s3 += x[xi + 3 * xs]! * M[mi + 3 * mrs]!;
      }
      for (; kk < k; kk++) s0 += x[xOff + kk * xs]! * M[col + kk * mrs]!;
      const o = cOff + j * cs;
      const v = s0 + s1 + (s2 + s3);
      C[o] = beta === 0 ? v : C[o]! + v;
    }
    return;
  }
  const chunk = acc.length;
  for (let j0 = 0; j0 < n; j0 += chunk) {
    const nj = Math.min(chunk, n - j0);
    acc.fill(0, 0, nj);
    for (let kk = 0; kk < k; kk++) {
      const xv = x[xOff + kk * xs]!;
      if (xv === 0) continue;
      const row = mOff + kk * mrs + j0;
      for (let j = 0; j < nj; j++) acc[j] = acc[j]! + xv * M[row + j]!;
    }
    for (let j = 0; j < nj; j++) {
      const o = cOff + (j0 + j) * cs;
      C[o] = beta === 0 ? acc[j]! : C[o]! + acc[j]!;
    }
  }
}

export function matmul(a: CpuBuffer, b: CpuBuffer, out: CpuBuffer, p: MatmulParams, run: GemmFn): void {
  const A = floats(a, 'matmul', 'a');
  const B = floats(b, 'matmul', 'b');
  const C = floats(out, 'matmul', 'output');
  const { batch, m, n, k } = p;
  const ars = p.transA ? 1 : k;
  const acs = p.transA ? m : 1;
  const brs = p.transB ? 1 : n;
  const bcs = p.transB ? k : 1;
  // A shared right operand over row-stacked left operands is one tall GEMM: better blocking, one dispatch.
  if (batch > 1 && p.bBatchStride === 0 && !p.transA && p.aBatchStride === m * k) {
    run(batch * m, n, k, A, 0, ars, acs, B, 0, brs, bcs, C, 0, n, 0);
    return;
  }
  for (let i = 0; i < batch; i++) {
    run(m, n, k, A, i * p.aBatchStride, ars, acs, B, i * p.bBatchStride, brs, bcs, C, i * m * n, n, 0);
  }
}
