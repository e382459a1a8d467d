/** Local response normalisation across channels (AlexNet, Section 3.3). */
import { record } from '../autograd.js';
import { TesseraError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { empty, kernels, requireFloat, reshapeTemp } from './util.js';

export interface LrnOptions {
  alpha?: number;
  beta?: number;
  k?: number;
}

/**
 * PyTorch / ONNX / Caffe semantics: b = a / (k + alpha/size · Σ a²)^beta over channels
 * c−⌊size/2⌋ … c+⌊(size−1)/2⌋ (zero-padded). The AlexNet paper's formula has no division by size: its
 * α = 1e-4 with n = 5 is alpha = 5e-4 here. Defaults follow PyTorch: alpha 1e-4, beta 0.75, k 1.
 */
export function localResponseNorm(x: Tensor, size: number, opts: LrnOptions = {}): Tensor {
  const op = 'localResponseNorm';
  x.buf(op);
  requireFloat(op, x);
  if (!Number.isInteger(size) || size < 1) throw new TesseraError(op, `size must be a positive integer, got ${size}`);
  const alpha = opts.alpha ?? 1e-4;
  const beta = opts.beta ?? 0.75;
  const k = opts.k ?? 1;
  for (const [name, v] of [
    ['alpha', alpha],
    ['beta', beta],
    ['k', k],
  ] as const) {
    if (!Number.isFinite(v)) throw new TesseraError(op, `${name} must be finite, got ${v}`);
  }
  if (x.rank < 3) throw new TesseraError(op, `input must be [N, C, …] with at least 3 dims, got ${fmtShape(x.shape)}`);
  // Any trailing spatial dims are flattened into one "w" axis: the normalisation is across channels only.
  const n = x.shape[0]!;
  const c = x.shape[1]!;
  const spatial = x.size / Math.max(1, n * c);
  const x4 = x.rank === 4 ? x : x.reshape([n, c, 1, n * c === 0 ? 0 : spatial]);
  const p = { n, c, h: x4.shape[2]!, w: x4.shape[3]!, size, alpha, beta, k };
  const y = empty(x.backendImpl, x4.shape, x.dtype);
  if (y.size > 0) kernels(x).lrn(x4.buf(op), y.buf(op), p);
  const out = record(
    y,
    op,
    [x4],
    (g) => {
      const dx = empty(g.backendImpl, x4.shape, g.dtype);
      kernels(g).lrnBackward(x4.buf(op), y.buf(op), g.buf(op), dx.buf(op), p);
      return [dx];
    },
    [y],
  );
  return x4 === x ? out : reshapeTemp(out, x.shape);
}
