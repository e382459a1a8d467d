/** The strided copy behind permute, expand, slice, concat and pad; casts between dtypes. */
import type { CopyParams } from '../../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { collapseDims, forEachRun } from './util.js';

export function copy(x: CpuBuffer, out: CpuBuffer, p: CopyParams): void {
  const src = x.data;
  const dst = out.data;
  const c = collapseDims(p.shape, [p.inStrides, p.outStrides]);
  const [si, so] = c.strides as [number[], number[]];
  const r = c.shape.length;
  const is = r === 0 ? 1 : si[r - 1]!;
  const os = r === 0 ? 1 : so[r - 1]!;
  if (is === 1 && os === 1) {
    // Contiguous runs: TypedArray.set is a memcpy for equal types and an element-wise cast otherwise.
    forEachRun(c.shape, [si, so], [p.inOffset, p.outOffset], (off, n) => {
      let i = off[0]!;
      let o = off[1]!;
      // subarray allocates a view, which only pays for itself on longer runs.
      if (n >= 32) dst.set(src.subarray(i, i + n), o);
      else for (const end = i + n; i < end; i++, o++) dst[o] = src[i]!;
    });
    return;
  }
  forEachRun(c.shape, [si, so], [p.inOffset, p.outOffset], (off, n) => {
    let i = off[0]!;
    let o = off[1]!;
    for (let t = 0; t < n; t++, i += is, o += os) dst[o] = src[i]!;
  });
}
