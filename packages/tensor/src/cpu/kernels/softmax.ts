/** Softmax / log-softmax over the last axis, cross-entropy and its gradient; all max-shifted for stability. */
import type { CrossEntropyParams, SoftmaxParams } from '../../backend/kernels.js';
import { TesseraError } from '../../errors.js';
import type { CpuBuffer } from '../backend.js';
import { type FloatArray, floats, ints } from './util.js';

/** max and log Σ exp(x − max) of one row. */
function rowStats(X: FloatArray, off: number, cols: number): [max: number, logSum: number] {
  let max = -Infinity;
  for (let j = 0; j < cols; j++) {
    const v = X[off + j]!;
    if (v > max || v !== v) max = v;
  }
  // An all −∞ row would give −∞ − (−∞) = NaN; shifting by 0 instead yields an honest −∞ log-sum.
  const shift = max === -Infinity ? 0 : max;
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(X[off + j]! - shift);
  return [shift, Math.log(sum)];
}

export function softmax(x: CpuBuffer, out: CpuBuffer, p: SoftmaxParams): void {
  const X = floats(x, 'softmax', 'input');
  const O = floats(out, 'softmax', 'output');
  const { rows, cols } = p;
  for (let r = 0, off = 0; r < rows; r++, off += cols) {
    const [max, logSum] = rowStats(X, off, cols);
    if (p.log) {
      const c = max + logSum;
      for (let j = 0; j < cols; j++) O[off + j] = X[off + j]! - c;
    } else {
      const inv = Math.exp(-logSum);
      for (let j = 0; j < cols; j++) O[off + j] = Math.exp(X[off + j]! - max) * inv;
    }
  }
}

/** Throws the TesseraError the catalogue specifies for the first label outside [0, cols). */
function checkLabels(op: string, L: Int32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const l = L[r]!;
    if (l < 0 || l >= cols) throw new TesseraError(op, `label ${l} at row ${r} is outside [0, ${cols})`);
  }
}

export function crossEntropy(logits: CpuBuffer, labels: CpuBuffer, losses: CpuBuffer, p: CrossEntropyParams): void {
  const X = floats(logits, 'crossEntropy', 'logits');
  const L = ints(labels, 'crossEntropy', 'labels');
  const O = floats(losses, 'crossEntropy', 'losses');
  const { rows, cols } = p;
  checkLabels('crossEntropy', L, rows, cols);
  for (let r = 0, off = 0; r < rows; r++, off += cols) {
    const [max, logSum] = rowStats(X, off, cols);
    O[r] = max + logSum - X[off + L[r]!]!;
  }
}

export function crossEntropyBackward(logits: CpuBuffer, labels: CpuBuffer, dlosses: CpuBuffer, dlogits: CpuBuffer, p: CrossEntropyParams): void {
  const X = floats(logits, 'crossEntropyBackward', 'logits');
  const L = ints(labels, 'crossEntropyBackward', 'labels');
  const D = floats(dlosses, 'crossEntropyBackward', 'dlosses');
  const O = floats(dlogits, 'crossEntropyBackward', 'dlogits');
  const { rows, cols } = p;
  checkLabels('crossEntropyBackward', L, rows, cols);
  for (let r = 0, off = 0; r < rows; r++, off += cols) {
    const [max, logSum] = rowStats(X, off, cols);
    const g = D[r]!;
    const inv = Math.exp(-logSum);
    const label = L[r]!;
    for (let j = 0; j < cols; j++) {
      const prob = Math.exp(X[off + j]! - max) * inv;
      O[off + j] = (j === label ? prob - 1 : prob) * g;
    }
  }
}
