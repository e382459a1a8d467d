/** Sum / max / min over any set of axes, and argmax / argmin over one. */
import type { ArgReduceParams, ReduceOp, ReduceParams } from '../../backend/kernels.js';
import { TesseraError } from '../../errors.js';
import type { CpuBuffer } from '../backend.js';
import { collapseDims } from '../../backend-toolkit/strides.js';
import { forEachRun, ints } from './util.js';

/**
 * Walks the input once in memory order (cache friendly whatever the axes) and folds every element into a
 * float64 accumulator for its output position; max/min propagate NaN like PyTorch.
 */
export function reduce(op: ReduceOp, x: CpuBuffer, out: CpuBuffer, p: ReduceParams): void {
  if (op !== 'sum' && op !== 'max' && op !== 'min') throw new TesseraError('reduce', `unknown op ${JSON.stringify(op as string)}`);
  const shape = p.shape;
  const rank = shape.length;
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of p.axes) reduced[a] = true;
  const inStrides = new Array<number>(rank);
  const accStrides = new Array<number>(rank);
  for (let d = rank - 1, si = 1, so = 1; d >= 0; d--) {
    inStrides[d] = si;
    si *= shape[d]!;
    if (reduced[d]) accStrides[d] = 0;
    else {
      accStrides[d] = so;
      so *= shape[d]!;
    }
  }
  const o = out.data;
  if (o.length === 0) return;
  const init = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
  const acc = new Float64Array(o.length).fill(init);
  const src = x.data;
  const c = collapseDims(shape, [inStrides, accStrides]);
  const [si, sa] = c.strides as [number[], number[]];
  const r = c.shape.length;
  const is = r === 0 ? 1 : si[r - 1]!;
  const as = r === 0 ? 0 : sa[r - 1]!;
  const max = op === 'max';
  forEachRun(c.shape, [si, sa], [0, 0], (off, n) => {
    let i = off[0]!;
    const end = i + n * is;
    let a = off[1]!;
    if (as === 0) {
      // The innermost run is reduced: fold it into one local before touching the accumulator.
      let v = acc[a]!;
      if (op === 'sum') for (; i < end; i += is) v += src[i]!;
      else if (max)
        for (; i < end; i += is) {
          const t = src[i]!;
          if (t > v || t !== t) v = t;
        }
      else
        for (; i < end; i += is) {
          const t = src[i]!;
          if (t < v || t !== t) v = t;
        }
      acc[a] = v;
      return;
    }
    if (op === 'sum') for (; i < end; i += is, a += as) acc[a] = acc[a]! + src[i]!;
    else if (max)
      for (; i < end; i += is, a += as) {
        const t = src[i]!;
        if (t > acc[a]! || t !== t) acc[a] = t;
      }
    else
      for (; i < end; i += is, a += as) {
        const t = src[i]!;
        if (t < acc[a]! || t !== t) acc[a] = t;
      }
  });
  o.set(acc);
}

export function argReduce(op: 'argmax' | 'argmin', x: CpuBuffer, out: CpuBuffer, p: ArgReduceParams): void {
  const { outer, size, inner } = p;
  const src = x.data;
  const idx = ints(out, op, 'output');
  if (size === 0) {
    if (outer * inner > 0) throw new TesseraError(op, 'cannot take an arg-reduction over an empty dimension');
    return;
  }
  const sign = op === 'argmax' ? 1 : -1;
  // Comparing sign·value turns argmin into argmax; the first NaN wins (NaN is the extreme, as in PyTorch).
  const best = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    const ob = o * inner;
    for (let j = 0; j < inner; j++) {
      best[j] = sign * src[base + j]!;
      idx[ob + j] = 0;
    }
    for (let s = 1; s < size; s++) {
      const row = base + s * inner;
      for (let j = 0; j < inner; j++) {
        const v = sign * src[row + j]!;
        const b = best[j]!;
        if (v > b || (v !== v && b === b)) {
          best[j] = v;
          idx[ob + j] = s;
        }
      }
    }
  }
}
