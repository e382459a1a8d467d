/** Reductions over axis sets and arg-reductions over one axis. */
import { TesseraError, contiguousStrides } from '@tessera/tensor/backend';
import type { ArgReduceParams, ReduceOp, ReduceParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

export function reduceKernels(rt: Runtime) {
  function reduce(op: ReduceOp, x: GpujsBuffer, out: GpujsBuffer, p: ReduceParams): void {
    rt.alive('reduce');
    if (op !== 'sum' && op !== 'max' && op !== 'min') throw new TesseraError('reduce', `unknown op ${JSON.stringify(op as string)}`);
    const strides = contiguousStrides(p.shape);
    const kept = p.shape.map((_, d) => d).filter((d) => !p.axes.includes(d));
    const reduced = p.axes;
    const count = reduced.reduce((s, d) => s * p.shape[d]!, 1);
    // [nKept, keptShape…, keptStrides…, nReduced, reducedShape…, reducedStrides…]
    const meta = new Float32Array(2 + 2 * kept.length + 2 * reduced.length);
    meta[0] = kept.length;
    kept.forEach((d, i) => {
      meta[1 + i] = p.shape[d]!;
      meta[1 + kept.length + i] = strides[d]!;
    });
    const r0 = 1 + 2 * kept.length;
    meta[r0] = reduced.length;
    reduced.forEach((d, i) => {
      meta[r0 + 1 + i] = p.shape[d]!;
      meta[r0 + 1 + reduced.length + i] = strides[d]!;
    });
    const empty = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
    const combine = op === 'sum' ? 'acc + v' : op === 'max' ? 'Math.max(acc, v)' : 'Math.min(acc, v)';
    const k = rt.kernel(
      `reduce:${op}`,
      () =>
        `function (x, meta, count, empty) {
        const nk = meta[0];
        let rem = this.thread.x + 0.0;
        let base = 0.0;
        for (let t = 0.0; t < nk; t += 1.0) {
          const d = nk - 1.0 - t;
          const ext = meta[1.0 + d];
          const q = fdiv(rem, ext);
          base = base + (rem - q * ext) * meta[1.0 + nk + d];
          rem = q;
        }
        const r0 = 1.0 + 2.0 * nk;
        const nr = meta[r0];
        let acc = empty;
        ${op === 'sum' ? 'let comp = 0.0;' : ''}
        for (let j = 0.0; j < count; j += 1.0) {
          let rj = j;
          let off = base;
          for (let t2 = 0.0; t2 < nr; t2 += 1.0) {
            const d2 = nr - 1.0 - t2;
            const ext2 = meta[r0 + 1.0 + d2];
            const q2 = fdiv(rj, ext2);
            off = off + (rj - q2 * ext2) * meta[r0 + 1.0 + nr + d2];
            rj = q2;
          }
          const v = x[off];
          ${
            op === 'sum'
              ? // Kahan summation: float32 sums over long axes keep their accuracy.
                `const yv = v - comp;
          const tv = acc + yv;
          comp = (tv - acc) - yv;
          acc = tv;`
              : `acc = ${combine};`
          }
        }
        return acc;
      }`,
    );
    rt.run(k, out, [x, meta, count, empty]);
  }

  function argReduce(op: 'argmax' | 'argmin', x: GpujsBuffer, out: GpujsBuffer, p: ArgReduceParams): void {
    rt.alive('argReduce');
    if (op !== 'argmax' && op !== 'argmin') throw new TesseraError('argReduce', `unknown op ${JSON.stringify(op as string)}`);
    const better = op === 'argmax' ? 'v > best' : 'v < best';
    const k = rt.kernel(
      `argReduce:${op}`,
      () =>
        `function (x, size, inner) {
        const o = this.thread.x + 0.0;
        const outer = fdiv(o, inner);
        const i = o - outer * inner;
        const base = outer * size * inner + i;
        let best = x[base];
        let arg = 0.0;
        for (let j = 1.0; j < size; j += 1.0) {
          const v = x[base + j * inner];
          if (${better}) {
            best = v;
            arg = j;
          }
        }
        return arg;
      }`,
    );
    rt.run(k, out, [x, p.size, p.inner]);
  }

  return { reduce, argReduce };
}
