/** Index selection along one axis, its adjoint and one-hot encoding; indices are validated (deferred). */
import { TesseraError } from '@tessera/tensor/backend';
import type { GatherParams } from '@tessera/tensor/backend';
import type { GpujsBuffer, Runtime } from '../runtime.js';

export function gatherKernels(rt: Runtime) {
  function checkIndices(op: string, indices: GpujsBuffer, count: number, size: number): void {
    const k = rt.kernel(
      'indicesOutside',
      () =>
        `function (idx, size) {
        const v = idx[this.thread.x];
        if (v < 0.0 || v >= size) { return 1.0; }
        return 0.0;
      }`,
    );
    rt.check(k, count, [indices, size], (t) => new TesseraError(op, `the index at position ${t} is outside [0, ${size})`));
  }

  function gather(x: GpujsBuffer, indices: GpujsBuffer, out: GpujsBuffer, p: GatherParams): void {
    rt.alive('gather');
    checkIndices('gather', indices, p.count, p.axisSize);
    const k = rt.kernel(
      'gather',
      () =>
        `function (x, idx, axisSize, inner, count) {
        const e = this.thread.x + 0.0;
        const i = e - fdiv(e, inner) * inner;
        const r = fdiv(e, inner);
        const t = r - fdiv(r, count) * count;
        const o = fdiv(r, count);
        const a = Math.min(Math.max(idx[t], 0.0), axisSize - 1.0);
        return x[(o * axisSize + a) * inner + i];
      }`,
    );
    rt.run(k, out, [x, indices, p.axisSize, p.inner, p.count]);
  }

  function gatherBackward(dy: GpujsBuffer, indices: GpujsBuffer, dx: GpujsBuffer, p: GatherParams): void {
    rt.alive('gatherBackward');
    checkIndices('gatherBackward', indices, p.count, p.axisSize);
    const k = rt.kernel(
      'gatherBackward',
      () =>
        `function (dy, idx, axisSize, inner, count) {
        const e = this.thread.x + 0.0;
        const i = e - fdiv(e, inner) * inner;
        const r = fdiv(e, inner);
        const a = r - fdiv(r, axisSize) * axisSize;
        const o = fdiv(r, axisSize);
        let acc = 0.0;
        for (let t = 0.0; t < count; t += 1.0) {
          if (idx[t] == a) { acc = acc + dy[(o * count + t) * inner + i]; }
        }
        return acc;
      }`,
    );
    rt.run(k, dx, [dy, indices, p.axisSize, p.inner, p.count]);
  }

  function oneHot(indices: GpujsBuffer, out: GpujsBuffer, p: { n: number; depth: number }): void {
    rt.alive('oneHot');
    checkIndices('oneHot', indices, p.n, p.depth);
    const k = rt.kernel(
      'oneHot',
      () =>
        `function (idx, depth) {
        const e = this.thread.x + 0.0;
        const t = fdiv(e, depth);
        if (idx[t] == e - t * depth) { return 1.0; }
        return 0.0;
      }`,
    );
    rt.run(k, out, [indices, p.depth]);
  }

  return { gather, gatherBackward, oneHot };
}
