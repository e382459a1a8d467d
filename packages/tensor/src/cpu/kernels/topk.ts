/** k largest or smallest values per row, sorted, ties in index order; NaN ranks above +∞ (as in PyTorch). */
import type { TopkParams } from '../../backend/kernels.js';
import type { CpuBuffer } from '../backend.js';
import { ints } from './util.js';

export function topk(x: CpuBuffer, values: CpuBuffer, indices: CpuBuffer, p: TopkParams): void {
  const X = x.data;
  const V = values.data;
  const I = ints(indices, 'topk', 'indices');
  const { rows, cols, k, largest } = p;
  // Rank keys, larger is better; NaN is tracked by a separate flag (it is the greatest value).
  const key = (v: number): number => {
    const w = v !== v ? Infinity : v;
    return largest ? w : -w;
  };
  /** Whether (ka, ia) comes before (kb, ib): higher key first, then lower index. */
  const before = (ka: number, ia: number, na: boolean, kb: number, ib: number, nb: boolean): boolean => {
    if (na !== nb) return largest ? na : nb;
    if (ka !== kb) return ka > kb;
    return ia < ib;
  };
  const bestKey = new Float64Array(k);
  const bestNaN = new Uint8Array(k);
  const bestIdx = new Int32Array(k);
  const order = k > 32 ? new Int32Array(cols) : null;
  for (let r = 0, off = 0; r < rows; r++, off += cols) {
    if (order) {
      // Large k: a full stable sort of the row's indices.
      for (let j = 0; j < cols; j++) order[j] = j;
      const sorted = Array.from(order).sort((a, b) => {
        const va = X[off + a]!;
        const vb = X[off + b]!;
        return before(key(va), a, va !== va, key(vb), b, vb !== vb) ? -1 : 1;
      });
      for (let t = 0; t < k; t++) {
        const j = sorted[t]!;
        V[r * k + t] = X[off + j]!;
        I[r * k + t] = j;
      }
      continue;
    }
    // Small k: insertion into a sorted buffer of the best k seen so far; most elements fail the first test.
    let filled = 0;
    for (let j = 0; j < cols; j++) {
      const v = X[off + j]!;
      const nan = v !== v;
      const kv = key(v);
      if (filled === k && !before(kv, j, nan, bestKey[k - 1]!, bestIdx[k - 1]!, bestNaN[k - 1] === 1)) continue;
      let pos = filled < k ? filled++ : k - 1;
      while (pos > 0 && before(kv, j, nan, bestKey[pos - 1]!, bestIdx[pos - 1]!, bestNaN[pos - 1] === 1)) {
        bestKey[pos] = bestKey[pos - 1]!;
        bestIdx[pos] = bestIdx[pos - 1]!;
        bestNaN[pos] = bestNaN[pos - 1]!;
        pos--;
      }
      bestKey[pos] = kv;
      bestIdx[pos] = j;
      bestNaN[pos] = nan ? 1 : 0;
    }
    for (let t = 0; t < k; t++) {
      const j = bestIdx[t]!;
      V[r * k + t] = X[off + j]!;
      I[r * k + t] = j;
    }
  }
}
