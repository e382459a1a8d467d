/**
 * Softmax, log-softmax and cross-entropy. A first kernel reduces each row to its log-sum-exp
 * (max + log Σ exp(x − max)); the elementwise kernels then read it. Labels are validated by a kernel
 * whose flags the next `read` inspects (the deferred TesseraError of the catalogue).
 */
import { TesseraError } from '@tessera/tensor/backend';
import type { CrossEntropyParams, SoftmaxParams } from '@tessera/tensor/backend';
import { GpujsBuffer, type Runtime } from '../runtime.js';

export function softmaxKernels(rt: Runtime) {
  /** A temporary [rows] buffer holding each row's log-sum-exp; the caller releases it. */
  function rowLogSumExp(x: GpujsBuffer, rows: number, cols: number): GpujsBuffer {
    const lse = new GpujsBuffer('float32', rows);
    const k = rt.kernel(
      'rowLogSumExp',
      () =>
        `function (x, cols) {
        const base = (this.thread.x + 0.0) * cols;
        let m = x[base];
        for (let j = 1.0; j < cols; j += 1.0) { m = Math.max(m, x[base + j]); }
        let s = 0.0;
        for (let j2 = 0.0; j2 < cols; j2 += 1.0) { s = s + Math.exp(x[base + j2] - m); }
        return m + Math.log(s);
      }`,
    );
    rt.run(k, lse, [x, cols]);
    return lse;
  }

  function softmax(x: GpujsBuffer, out: GpujsBuffer, p: SoftmaxParams): void {
    rt.alive('softmax');
    if (p.rows * p.cols === 0) return;
    const lse = rowLogSumExp(x, p.rows, p.cols);
    const k = rt.kernel(
      `softmax:${p.log}`,
      () =>
        `function (x, lse, cols) {
        const e = this.thread.x + 0.0;
        const r = fdiv(e, cols);
        const v = x[e] - lse[r];
        return ${p.log ? 'v' : 'Math.exp(v)'};
      }`,
    );
    rt.run(k, out, [x, lse, p.cols]);
    rt.release(lse);
  }

  function checkLabels(op: string, labels: GpujsBuffer, rows: number, cols: number): void {
    const k = rt.kernel(
      'labelsOutside',
      () =>
        `function (labels, cols) {
        const l = labels[this.thread.x];
        if (l < 0.0 || l >= cols) { return 1.0; }
        return 0.0;
      }`,
    );
    rt.check(k, rows, [labels, cols], (r) => new TesseraError(op, `the label at row ${r} is outside [0, ${cols})`));
  }

  function crossEntropy(logits: GpujsBuffer, labels: GpujsBuffer, losses: GpujsBuffer, p: CrossEntropyParams): void {
    rt.alive('crossEntropy');
    if (p.rows === 0) return;
    checkLabels('crossEntropy', labels, p.rows, p.cols);
    const lse = rowLogSumExp(logits, p.rows, p.cols);
    const k = rt.kernel(
      'crossEntropy',
      () =>
        `function (x, labels, lse, cols) {
        const r = this.thread.x + 0.0;
        const l = Math.min(Math.max(labels[r], 0.0), cols - 1.0);
        return lse[r] - x[r * cols + l];
      }`,
    );
    rt.run(k, losses, [logits, labels, lse, p.cols]);
    rt.release(lse);
  }

  function crossEntropyBackward(logits: GpujsBuffer, labels: GpujsBuffer, dlosses: GpujsBuffer, dlogits: GpujsBuffer, p: CrossEntropyParams): void {
    rt.alive('crossEntropyBackward');
    if (p.rows * p.cols === 0) return;
    checkLabels('crossEntropyBackward', labels, p.rows, p.cols);
    const lse = rowLogSumExp(logits, p.rows, p.cols);
    const k = rt.kernel(
      'crossEntropyBackward',
      () =>
        `function (x, labels, lse, dl, cols) {
        const e = this.thread.x + 0.0;
        const r = fdiv(e, cols);
        const j = e - r * cols;
        let v = Math.exp(x[e] - lse[r]);
        if (labels[r] == j) { v = v - 1.0; }
        return v * dl[r];
      }`,
    );
    rt.run(k, dlogits, [logits, labels, lse, dlosses, p.cols]);
    rt.release(lse);
  }

  return { softmax, crossEntropy, crossEntropyBackward };
}
