/** Softmax, log-softmax and cross-entropy (over the class axis). */
import { record } from '../autograd.js';
import { TesseraError, fmtShape } from '../errors.js';
import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { disposeIntermediate, empty, kernels, requireFloat, sameBackend } from './util.js';

function softmaxLast(x: Tensor, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const cols = x.shape.at(-1) ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  const y = empty(x.backendImpl, x.shape, x.dtype);
  if (y.size > 0) kernels(x).softmax(x.buf(op), y.buf(op), { rows, cols, log });
  return record(y, op, [x], (g) => (log ? [g.sub(y.exp().mul(g.sum(-1, true)))] : [y.mul(g.sub(g.mul(y).sum(-1, true)))]), [y]);
}

function alongDim(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  x.buf(op);
  requireFloat(op, x);
  if (x.rank === 0) return softmaxLast(x.reshape([1]), log).reshape([]);
  const d = normAxis(dim, x.rank, op);
  if (d === x.rank - 1) return softmaxLast(x, log);
  const moved = x.transpose(d, -1);
  const y = softmaxLast(moved, log);
  const back = y.transpose(d, -1);
  disposeIntermediate(y);
  disposeIntermediate(moved);
  return back;
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return alongDim(x, dim, false);
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return alongDim(x, dim, true);
}

export interface CrossEntropyOptions {
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy between logits [N, C] and int32 class labels [N] (torch.nn.functional.cross_entropy).
 * Labels outside [0, C) are an error.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  sameBackend(op, logits, labels);
  requireFloat(op, logits);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new TesseraError(op, `reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
  if (logits.rank !== 2) throw new TesseraError(op, `logits must be [N, C], got ${fmtShape(logits.shape)}`);
  if (labels.dtype !== 'int32') {
    throw new TesseraError(op, `labels must be int32 class indices, got ${labels.dtype} ${fmtShape(labels.shape)}`);
  }
  const [rows, cols] = logits.shape as [number, number];
  if (labels.rank !== 1 || labels.shape[0] !== rows) {
    throw new TesseraError(op, `labels must be [${rows}] for logits ${fmtShape(logits.shape)}, got ${fmtShape(labels.shape)}`);
  }
  if (cols === 0) throw new TesseraError(op, `logits ${fmtShape(logits.shape)} have no classes`);
  const p = { rows, cols };
  const losses = empty(logits.backendImpl, [rows], logits.dtype);
  if (rows > 0) kernels(logits).crossEntropy(logits.buf(op), labels.buf(op), losses.buf(op), p);
  const perRow = record(
    losses,
    op,
    [logits],
    (g) => {
      const dl = empty(g.backendImpl, logits.shape, g.dtype);
      kernels(g).crossEntropyBackward(logits.buf(op), labels.buf(op), g.buf(op), dl.buf(op), p);
      return [dl];
    },
    [labels],
  );
  if (reduction === 'none') return perRow;
  const reduced = reduction === 'sum' ? perRow.sum() : perRow.mean();
  disposeIntermediate(perRow);
  return reduced;
}
