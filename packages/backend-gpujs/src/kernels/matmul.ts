/** Batched matrix multiply: one dot product per output element. */
import type { MatmulParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

export function matmulKernels(rt: Runtime) {
  function matmul(a: GpujsBuffer, b: GpujsBuffer, out: GpujsBuffer, p: MatmulParams): void {
    rt.alive('matmul');
    // Strides of a[b] (row i, column kk) and b[b] (row kk, column j) in elements, transposes folded in.
    const aRow = p.transA ? 1 : p.k;
    const aCol = p.transA ? p.m : 1;
    const bRow = p.transB ? 1 : p.n;
    const bCol = p.transB ? p.k : 1;
    const k = rt.kernel(
      'matmul',
      () =>
        `function (a, b, meta) {
        const m = meta[0];
        const n = meta[1];
        const kk = meta[2];
        const o = this.thread.x + 0.0;
        const mn = m * n;
        const bt = fdiv(o, mn);
        const r = o - bt * mn;
        const i = fdiv(r, n);
        const j = r - i * n;
        const aBase = bt * meta[3] + i * meta[5];
        const bBase = bt * meta[4] + j * meta[8];
        const aStep = meta[6];
        const bStep = meta[7];
        let acc = 0.0;
        for (let t = 0.0; t < kk; t += 1.0) {
          acc = acc + a[aBase + t * aStep] * b[bBase + t * bStep];
        }
        return acc;
      }`,
    );
    const meta = new Float32Array([p.m, p.n, p.k, p.aBatchStride, p.bBatchStride, aRow, aCol, bRow, bCol]);
    rt.run(k, out, [a, b, meta]);
  }

  return { matmul };
}
