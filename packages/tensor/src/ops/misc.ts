/** Dropout, top-k and one-hot encoding. */
import { record } from '../autograd.js';
import { TesseraError, fmtShape } from '../errors.js';
import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { bernoulli } from './creation.js';
import { arange } from './creation.js';
import { disposeIntermediate, empty, kernels, requireFloat } from './util.js';

export interface DropoutOptions {
  /** A fixed seed draws a reproducible mask; otherwise the global generator advances. */
  seed?: number;
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1−p) while training;
 * the identity otherwise.
 */
export function dropout(x: Tensor, p = 0.5, training = true, opts: DropoutOptions = {}): Tensor {
  const op = 'dropout';
  x.buf(op);
  requireFloat(op, x);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new TesseraError(op, `probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const keepProb = 1 - p;
  const mask = bernoulli(x.shape, keepProb, {
    backend: x.backend,
    dtype: x.dtype,
    scale: keepProb === 0 ? 0 : 1 / keepProb,
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  });
  const y = x.mul(mask);
  if (!y.requiresGrad) mask.dispose();
  return y;
}

export interface TopkOptions {
  dim?: number;
  largest?: boolean;
}

/** The k largest (or smallest) entries along `dim`, sorted, with their int32 indices. */
export function topk(x: Tensor, k: number, opts: TopkOptions = {}): { values: Tensor; indices: Tensor } {
  const op = 'topk';
  x.buf(op);
  const dim = normAxis(opts.dim ?? -1, Math.max(1, x.rank), op);
  if (x.rank === 0) throw new TesseraError(op, 'needs a tensor of rank ≥ 1');
  const cols = x.shape[dim]!;
  if (!Number.isInteger(k) || k < 0 || k > cols) {
    throw new TesseraError(op, `k must be an integer in [0, ${cols}] for dimension ${dim} of ${fmtShape(x.shape)}, got ${k}`);
  }
  if (dim !== x.rank - 1) {
    const moved = x.transpose(dim, -1);
    const r = topk(moved, k, { largest: opts.largest ?? true });
    const out = { values: r.values.transpose(dim, -1), indices: r.indices.transpose(dim, -1) };
    // The inner values' backward reads the inner indices: they live as long as that graph does.
    if (!r.values.requiresGrad) r.indices.dispose();
    disposeIntermediate(r.values);
    disposeIntermediate(moved);
    return out;
  }
  const rows = cols === 0 ? 0 : x.size / cols;
  const outShape = [...x.shape.slice(0, -1), k];
  const values = empty(x.backendImpl, outShape, x.dtype);
  const indices = empty(x.backendImpl, outShape, 'int32');
  if (values.size > 0) kernels(x).topk(x.buf(op), values.buf(op), indices.buf(op), { rows, cols, k, largest: opts.largest ?? true });
  if (x.dtype === 'int32') return { values, indices };
  record(
    values,
    op,
    [x],
    (g) => {
      // Scatter g back through flat positions row·cols + index.
      const rowBase = arange(0, rows * cols, Math.max(cols, 1), { backend: x.backend, dtype: 'int32' }).reshape([rows, 1]);
      const flatIdx = indices
        .reshape([rows, k])
        .add(rowBase)
        .reshape([rows * k]);
      const dx = empty(g.backendImpl, x.shape, g.dtype);
      kernels(g).gatherBackward(g.buf(op), flatIdx.buf(op), dx.buf(op), { outer: 1, axisSize: rows * cols, inner: 1, count: rows * k });
      return [dx];
    },
    [indices],
  );
  return { values, indices };
}

/** [N] int32 labels → [N, numClasses] float32 one-hot rows. */
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  const op = 'oneHot';
  labels.buf(op);
  if (labels.dtype !== 'int32' || labels.rank !== 1)
    throw new TesseraError(op, `labels must be a 1-d int32 tensor, got ${labels.dtype} ${fmtShape(labels.shape)}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new TesseraError(op, `numClasses must be a positive integer, got ${numClasses}`);
  const out = empty(labels.backendImpl, [labels.shape[0]!, numClasses], 'float32');
  if (out.size > 0) kernels(labels).oneHot(labels.buf(op), out.buf(op), { n: labels.shape[0]!, depth: numClasses });
  return out;
}
