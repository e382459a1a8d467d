/**
 * Single-threaded GEMM core and the batched matmul kernel.
 *
 * The core follows the Goto/BLIS scheme: for every KC-deep slice, blocks of A and B are packed into
 * contiguous panels (MR rows / NR columns interleaved per k, zero-padded at the edges, transposes and
 * arbitrary strides resolved here), and a register-blocked micro-kernel accumulates tiles of the product.
 * Two precisions, chosen by the operands:
 * - float64 (either operand float64): float64 panels, 4×4 tiles, and an MC×NC float64 C tile that sums all
 *   KC slices before it is written to C once — accumulation entirely in doubles. This is the reference path
 *   that gradcheck and the conformance kit compare every backend against.
 * - float32 (both operands float32): float32 panels, F32_MR×F32_NR tiles with float32 accumulation, as
 *   every peer does, at twice the SIMD lanes. Each KC slice's float32 tile is added onto C (C may be
 *   float64: the conv filter gradient's batch sum then adds float32 partial products in double). B's block is
 *   packed once per KC slice and reused by every MC block of A.
 * Where WebAssembly SIMD is available the tile loops run in gemm-wasm.ts's module; gemm-portable.ts holds
 * the JS fallbacks, with identical results except under relaxed SIMD (see gemm-wasm.ts).
 *
 * Not done: keeping packed weights across calls. Kernels see typed arrays, not parameters; a cache would have
 * to be invalidated by every write to the buffer (kernel outputs, write(), sgdUpdate, and direct writes to
 * CpuBuffer.data, which tests and finite-difference checks make and nothing can observe), and to pay off the
 * panels would have to stay in each thread's WebAssembly memory. Within a call nothing is packed twice that
 * need not be: B once per KC slice, a linear layer's weight only copied (dot32), conv weights once per batch
 * of small images.
 */
import type { MatmulParams } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { DOT_MR, DOT_NR, F32_MR, F32_NR } from './gemm-wasm.js';
import { dot32js, micro32, micro4x4 } from './gemm-portable.js';
import { type FloatArray, floats } from './util.js';

/** A block kernel of gemm-wasm.ts: (mcp, ncp, kc, pa, pb, ct, ldt, first), addresses and ldt in bytes. */
export type BlockKernel = (mcp: number, ncp: number, kc: number, pa: number, pb: number, ct: number, ldt: number, first: number) => void;

/** gemm-wasm.ts's dot32: (mcp, ncp, kcp, pa, pb, ct, ldt), addresses and ldt in bytes. */
export type DotKernel = (mcp: number, ncp: number, kcp: number, pa: number, pb: number, ct: number, ldt: number) => void;

/**
 * Per-thread packing buffers and C tile, as float64 and float32 views of the same storage, and, where
 * available, the WebAssembly block kernels (the storage is then the module's memory).
 */
export interface GemmScratch {
  pa: Float64Array;
  pb: Float64Array;
  ct: Float64Array;
  pa32: Float32Array;
  pb32: Float32Array;
  ct32: Float32Array;
  /** gemm-wasm.ts's block64 / block32 / dot32 over the views above; null to use micro4x4 / micro32 / dot32js. */
  block64: BlockKernel | null;
  block32: BlockKernel | null;
  dot32: DotKernel | null;
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

// Blocking of the float64 path: a KC×4 B panel (8 KiB) stays in L1 while A panels stream from L2; the MC×NC
// float64 tile (256 KiB) stays in L2. Throughput is flat within about 2× of these values.
const KC64 = 256;
const MC64 = 128;
const NC64 = 256;
// The float32 path's blocks (elements) fit in the same storage: MC·KC and MC·NC float32s in half the float64
// regions, KC·NC in all of pb's.
const KC32 = 256;
const MC32 = 128;
const NC32 = 512;
// The dot path: up to DOT_MAX_M rows of A and NC_DOT rows of a transposed B, KC_DOT deep (pb's whole region).
const DOT_MAX_M = 16;
const KC_DOT = 1024;
const NC_DOT = 128;

/**
 * Which kernel gemm() runs for a product: 'gemv' for a single row or column, 'dot' for a float32 product
 * of at most DOT_MAX_M rows with B's rows contiguous in k (a linear layer's transposed weight, copied row by
 * row instead of repacked: for so few rows, packing B costs more than the product), else 'block'. Splitting
 * a GEMM across threads keeps every part on the whole product's kernel, so threads change no result.
 */
export function gemmKernel(m: number, n: number, A: FloatArray, B: FloatArray, brs: number): 'gemv' | 'dot' | 'block' {
  if (m === 1 || n === 1) return 'gemv';
  return A instanceof Float32Array && B instanceof Float32Array && m <= DOT_MAX_M && brs === 1 ? 'dot' : 'block';
}

/** Scratch for one thread; with `wasm` (bytes of gemm-wasm.ts's module) the block kernels are instantiated into it. */
export function createGemmScratch(wasm: Uint8Array | null): GemmScratch {
  // MC·KC, KC·NC and MC·NC doubles of the float64 path; 1 MiB, the module's memory.
  const PA = MC64 * KC64;
  const PB = KC64 * NC64;
  const CT = MC64 * NC64;
  const bytes = (PA + PB + CT) * 8;
  const views = (buf: ArrayBuffer): Omit<GemmScratch, 'block64' | 'block32' | 'dot32'> => ({
    pa: new Float64Array(buf, 0, PA),
    pb: new Float64Array(buf, PA * 8, PB),
    ct: new Float64Array(buf, (PA + PB) * 8, CT),
    pa32: new Float32Array(buf, 0, 2 * PA),
    pb32: new Float32Array(buf, PA * 8, 2 * PB),
    ct32: new Float32Array(buf, (PA + PB) * 8, 2 * CT),
    paAt: 0,
    pbAt: PA * 8,
    ctAt: (PA + PB) * 8,
  });
  const api = (globalThis as unknown as { WebAssembly?: WasmInstantiate }).WebAssembly;
  if (wasm && api) {
    try {
      const { exports } = new api.Instance(new api.Module(wasm), {});
      const memory = exports['mem'] as { buffer: ArrayBuffer };
      if (memory.buffer.byteLength >= bytes) {
        return {
          ...views(memory.buffer),
          block64: exports['block64'] as BlockKernel,
          block32: exports['block32'] as BlockKernel,
          dot32: exports['dot32'] as DotKernel,
        };
      }
    } catch {
      // Fall back to the JS micro-kernels below.
    }
  }
  return { ...views(new ArrayBuffer(bytes)), block64: null, block32: null, dot32: null };
}

/** Equal blocks (e.g. k = 182 + 181 rather than 256 + 107) keep per-block overhead amortised; multiples of `unit`. */
function step(size: number, max: number, unit: number): number {
  return Math.ceil(size / Math.ceil(size / max) / unit) * unit;
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
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (let i = 0; i < m; i++) {
      const row = cOff + i * ldc;
      for (let j = 0; j < n; j++) C[row + j] = beta === 0 ? 0 : C[row + j]!;
    }
    return;
  }
  // A single row or column has no reuse to block for: dot products or axpys beat padding to tiles.
  if (m === 1) {
    gemvRow(n, k, A, aOff, acs, B, bOff, brs, bcs, C, cOff, 1, beta, s.ct);
    return;
  }
  if (n === 1) {
    gemvRow(m, k, B, bOff, brs, A, aOff, acs, ars, C, cOff, ldc, beta, s.ct);
    return;
  }
  if (gemmKernel(m, n, A, B, brs) === 'dot') gemmDot32(m, n, k, A as Float32Array, aOff, ars, acs, B as Float32Array, bOff, bcs, C, cOff, ldc, beta, s);
  else if (A instanceof Float32Array && B instanceof Float32Array) gemm32(m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta, s);
  else gemm64(m, n, k, A, aOff, ars, acs, B, bOff, brs, bcs, C, cOff, ldc, beta, s);
}

function gemm64(
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
  const { pa, pb, ct } = s;
  const kStep = step(k, KC64, 1);
  const mStep = step(m, MC64, 4);
  const nStep = step(n, NC64, 4);
  for (let jc = 0; jc < n; jc += nStep) {
    const nc = Math.min(nStep, n - jc);
    const ncp = (nc + 3) & ~3;
    for (let ic = 0; ic < m; ic += mStep) {
      const mc = Math.min(mStep, m - ic);
      const mcp = (mc + 3) & ~3;
      for (let pc = 0; pc < k; pc += kStep) {
        const kc = Math.min(kStep, k - pc);
        packPanels(B, bOff + pc * brs + jc * bcs, bcs, brs, nc, kc, 4, pb);
        packPanels(A, aOff + ic * ars + pc * acs, ars, acs, mc, kc, 4, pa);
        const first = pc === 0;
        if (s.block64) {
          s.block64(mcp, ncp, kc, s.paAt, s.pbAt, s.ctAt, ncp * 8, first ? 1 : 0);
          continue;
        }
        for (let jr = 0; jr < ncp; jr += 4) {
          for (let ir = 0; ir < mcp; ir += 4) {
            micro4x4(kc, pa, ir * kc, pb, jr * kc, ct, ir * ncp + jr, ncp, first);
          }
        }
      }
      addTile(C, cOff + ic * ldc + jc, ldc, ct, ncp, mc, nc, beta);
    }
  }
}

function gemm32(
  m: number,
  n: number,
  k: number,
  A: Float32Array,
  aOff: number,
  ars: number,
  acs: number,
  B: Float32Array,
  bOff: number,
  brs: number,
  bcs: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  beta: number,
  s: GemmScratch,
): void {
  const { pa32, pb32, ct32 } = s;
  const kStep = step(k, KC32, 1);
  const mStep = step(m, MC32, F32_MR);
  const nStep = step(n, NC32, F32_NR);
  for (let jc = 0; jc < n; jc += nStep) {
    const nc = Math.min(nStep, n - jc);
    const ncp = Math.ceil(nc / F32_NR) * F32_NR;
    for (let pc = 0; pc < k; pc += kStep) {
      const kc = Math.min(kStep, k - pc);
      packPanels(B, bOff + pc * brs + jc * bcs, bcs, brs, nc, kc, F32_NR, pb32);
      for (let ic = 0; ic < m; ic += mStep) {
        const mc = Math.min(mStep, m - ic);
        const mcp = Math.ceil(mc / F32_MR) * F32_MR;
        packPanels(A, aOff + ic * ars + pc * acs, ars, acs, mc, kc, F32_MR, pa32);
        if (s.block32) s.block32(mcp, ncp, kc, s.paAt, s.pbAt, s.ctAt, ncp * 4, 1);
        else {
          for (let jr = 0; jr < ncp; jr += F32_NR) {
            for (let ir = 0; ir < mcp; ir += F32_MR) micro32(kc, pa32, ir * kc, pb32, jr * kc, ct32, ir * ncp + jr, ncp);
          }
        }
        addTile(C, cOff + ic * ldc + jc, ldc, ct32, ncp, mc, nc, pc === 0 ? beta : 1);
      }
    }
  }
}

/** The 'dot' kernel (see gemmKernel): B[k, j] = B[bOff + j·bcs + k], m ≤ DOT_MAX_M. */
function gemmDot32(
  m: number,
  n: number,
  k: number,
  A: Float32Array,
  aOff: number,
  ars: number,
  acs: number,
  B: Float32Array,
  bOff: number,
  bcs: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  beta: number,
  s: GemmScratch,
): void {
  const { pa32, pb32, ct32 } = s;
  const kStep = step(k, KC_DOT, 4);
  const nStep = step(n, NC_DOT, DOT_NR);
  const mcp = Math.ceil(m / DOT_MR) * DOT_MR;
  for (let pc = 0; pc < k; pc += kStep) {
    const kc = Math.min(kStep, k - pc);
    const kcp = Math.ceil(kc / 4) * 4;
    copyRows(A, aOff + pc * acs, ars, acs, m, mcp, kc, kcp, pa32);
    for (let jc = 0; jc < n; jc += nStep) {
      const nc = Math.min(nStep, n - jc);
      const ncp = Math.ceil(nc / DOT_NR) * DOT_NR;
      copyRows(B, bOff + jc * bcs + pc, bcs, 1, nc, ncp, kc, kcp, pb32);
      if (s.dot32) s.dot32(mcp, ncp, kcp, s.paAt, s.pbAt, s.ctAt, ncp * 4);
      else dot32js(mcp, ncp, kcp, pa32, pb32, ct32, ncp);
      addTile(C, cOff + jc, ldc, ct32, ncp, m, nc, pc === 0 ? beta : 1);
    }
  }
}

/** out[r·kcp + k] = M[off + r·rs + k·cs] for r < rows, k < kc; zero in the k padding and in rows up to rowsPadded. */
function copyRows(M: Float32Array, off: number, rs: number, cs: number, rows: number, rowsPadded: number, kc: number, kcp: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const src = off + r * rs;
    const dst = r * kcp;
    if (cs === 1) out.set(M.subarray(src, src + kc), dst);
    else for (let kk = 0; kk < kc; kk++) out[dst + kk] = M[src + kk * cs]!;
    out.fill(0, dst + kc, dst + kcp);
  }
  out.fill(0, rows * kcp, rowsPadded * kcp);
}

/** C[c + i·ldc + j] = (beta ? C[…] : 0) + ct[i·ldt + j] for i < rows, j < cols; one rounding to C's type. */
function addTile(C: FloatArray, c: number, ldc: number, ct: FloatArray, ldt: number, rows: number, cols: number, beta: number): void {
  for (let i = 0; i < rows; i++) {
    const row = c + i * ldc;
    const t = i * ldt;
    if (beta === 0) for (let j = 0; j < cols; j++) C[row + j] = ct[t + j]!;
    else for (let j = 0; j < cols; j++) C[row + j] = C[row + j]! + ct[t + j]!;
  }
}

/**
 * Packs the rows×kc matrix M[off + r·rs + k·cs] into panels of R rows interleaved per k:
 * out[(r/R)·kc·R + k·R + r%R], zero rows past `rows`. A's blocks are packed as they are, B's as their transpose.
 */
function packPanels(M: FloatArray, off: number, rs: number, cs: number, rows: number, kc: number, R: number, out: FloatArray): void {
  let p = 0;
  for (let r0 = 0; r0 < rows; r0 += R) {
    const base = off + r0 * rs;
    const full = rows - r0 >= R;
    if (full && R === 4) {
      const m1 = base + rs;
      const m2 = m1 + rs;
      const m3 = m2 + rs;
      for (let kk = 0, c = 0; kk < kc; kk++, c += cs, p += 4) {
        out[p] = M[base + c]!;
        out[p + 1] = M[m1 + c]!;
        out[p + 2] = M[m2 + c]!;
        out[p + 3] = M[m3 + c]!;
      }
    } else if (full && cs === 1) {
      // Rows contiguous in k (e.g. a transposed B): stream each row into its interleaved slots.
      for (let r = 0; r < R; r++) {
        const src = base + r * rs;
        for (let kk = 0, q = p + r; kk < kc; kk++, q += R) out[q] = M[src + kk]!;
      }
      p += kc * R;
    } else {
      const live = Math.min(R, rows - r0);
      for (let kk = 0, c = 0; kk < kc; kk++, c += cs, p += R) {
        for (let r = 0; r < live; r++) out[p + r] = M[base + r * rs + c]!;
        for (let r = live; r < R; r++) out[p + r] = 0;
      }
    }
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
