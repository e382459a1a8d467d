/** The strided copy behind permute, expand, slice, concat and pad; casts between dtypes. */
import type { CopyParams } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { collapseDims } from '../../backend-toolkit/strides.js';
import { forEachRun } from './util.js';

type Data = CpuBuffer['data'];

/** Square tiles for transposing copies: 32×32 elements of each side stay in L1 while both are walked. */
const TILE = 32;

/**
 * dst[d0 + a·dA + b·dB] = src[s0 + a·sA + b·sB] for a < nA, b < nB in TILE×TILE blocks, so that the side
 * contiguous along a and the side contiguous along b both get reused cache lines.
 */
function tiled(src: Data, s0: number, sA: number, sB: number, dst: Data, d0: number, dA: number, dB: number, nA: number, nB: number): void {
  for (let a0 = 0; a0 < nA; a0 += TILE) {
    const a1 = Math.min(nA, a0 + TILE);
    for (let b0 = 0; b0 < nB; b0 += TILE) {
      const b1 = Math.min(nB, b0 + TILE);
      for (let a = a0; a < a1; a++) {
        let s = s0 + a * sA + b0 * sB;
        let d = d0 + a * dA + b0 * dB;
        for (let b = b0; b < b1; b++, s += sB, d += dB) dst[d] = src[s]!;
      }
    }
  }
}

export function copy(x: CpuBuffer, out: CpuBuffer, p: CopyParams): void {
  const src = x.data;
  const dst = out.data;
  const c = collapseDims(p.shape, [p.inStrides, p.outStrides]);
  const [si, so] = c.strides as [number[], number[]];
  const r = c.shape.length;
  const is = r === 0 ? 1 : si[r - 1]!;
  const os = r === 0 ? 1 : so[r - 1]!;
  if (is === 1 && os === 1) {
    forEachRun(c.shape, [si, so], [p.inOffset, p.outOffset], (off, n) => {
      let i = off[0]!;
      let o = off[1]!;
      // TypedArray.set is a memcpy for equal types and an element-wise cast otherwise; the view it needs
      // only pays for itself on longer runs.
      if (n >= 32) dst.set(src.subarray(i, i + n), o);
      else for (const end = i + n; i < end; i++, o++) dst[o] = src[i]!;
    });
    return;
  }
  // A transpose: one side is contiguous along the innermost dimension, the other along dimension t.
  const t = r >= 2 && (is === 1 || os === 1) ? (is === 1 ? so : si).indexOf(1) : -1;
  if (t >= 0 && t < r - 1 && c.shape[t]! >= 8 && c.shape[r - 1]! >= 8) {
    const outer = c.shape.filter((_, d) => d !== t && d !== r - 1);
    const pick = (s: number[]): number[] => [...s.filter((_, d) => d !== t && d !== r - 1), 0];
    const nA = c.shape[t]!;
    const nB = c.shape[r - 1]!;
    forEachRun([...outer, 1], [pick(si), pick(so)], [p.inOffset, p.outOffset], (off) => tiled(src, off[0]!, si[t]!, is, dst, off[1]!, so[t]!, os, nA, nB));
    return;
  }
  forEachRun(c.shape, [si, so], [p.inOffset, p.outOffset], (off, n) => {
    let i = off[0]!;
    let o = off[1]!;
    for (let k = 0; k < n; k++, i += is, o += os) dst[o] = src[i]!;
  });
}
