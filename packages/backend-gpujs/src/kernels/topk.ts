/**
 * topk over the last axis: output slot s of a row is the best element strictly after slot s−1 in the order
 * (value, then lower index first), found by s+1 passes over the row, so no kernel needs a sort.
 */
import type { TopkParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

export function topkKernels(rt: Runtime) {
  function kernel(result: 'value' | 'index', largest: boolean) {
    // "a before b" in the output order: better value, or equal value and lower index.
    const before = largest ? '(v > bv || (v == bv && j < bj))' : '(v < bv || (v == bv && j < bj))';
    const afterPrev = largest ? '(v < pv || (v == pv && j > pj))' : '(v > pv || (v == pv && j > pj))';
    return rt.kernel(
      `topk:${result}:${largest}`,
      () =>
        `function (x, cols, k) {
        const e = this.thread.x + 0.0;
        const row = fdiv(e, k);
        const slot = e - row * k;
        const base = row * cols;
        let pv = 0.0;
        let pj = -1.0;
        let bv = 0.0;
        let bj = -1.0;
        for (let s = 0.0; s <= slot; s += 1.0) {
          bj = -1.0;
          for (let j = 0.0; j < cols; j += 1.0) {
            const v = x[base + j];
            if (pj < 0.0 || ${afterPrev}) {
              if (bj < 0.0 || ${before}) {
                bv = v;
                bj = j;
              }
            }
          }
          pv = bv;
          pj = bj;
        }
        return ${result === 'value' ? 'bv' : 'bj'};
      }`,
    );
  }

  function topk(x: GpujsBuffer, values: GpujsBuffer, indices: GpujsBuffer, p: TopkParams): void {
    rt.alive('topk');
    rt.run(kernel('value', p.largest), values, [x, p.cols, p.k]);
    rt.run(kernel('index', p.largest), indices, [x, p.cols, p.k]);
  }

  return { topk };
}
