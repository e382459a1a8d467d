/** Matrix products with torch.matmul semantics, on the backend's batched GEMM kernel. */
import { record } from '../autograd.js';
import { TesseraError, fmtShape } from '../errors.js';
import { broadcastShapes, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { sumToShape } from './elementwise.js';
import { disposeIntermediate, empty, kernels, reshapeTemp, sameBackend } from './util.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * Batched op(a) · op(b) for a, b of rank ≥ 2 whose batch dims broadcast. op(x) = xᵀ (of the last two
 * dims) when the flag is set. Differentiable.
 */
export function bmm(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  sameBackend(op, a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) throw new TesseraError(op, `bmm needs rank ≥ 2 operands, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.dtype !== b.dtype) throw new TesseraError(op, `dtypes differ: ${a.dtype} and ${b.dtype}`);
  if (a.dtype === 'int32') throw new TesseraError(op, 'expects float tensors, got int32');
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  const n = transB ? br : bc;
  if (k !== kb) {
    throw new TesseraError(op, `inner dimensions differ: ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} (${k} vs ${kb})`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = broadcastShapes(aBatch, bBatch, op);
  const batch = sizeOf(batchShape);
  // Each operand is either complete over the batch or a single matrix reused by every batch entry;
  // anything in between is materialised by expand.
  const full = (x: Tensor, xb: number[]) => {
    if (sizeOf(xb) === 1) return { t: x, stride: 0 };
    if (shapesEqual(xb, batchShape)) return { t: x, stride: x.shape.at(-1)! * x.shape.at(-2)! };
    return { t: x.expand([...batchShape, ...x.shape.slice(-2)]), stride: x.shape.at(-1)! * x.shape.at(-2)! };
  };
  const A = full(a, aBatch);
  const B = full(b, bBatch);
  const out = empty(a.backendImpl, [...batchShape, m, n], a.dtype);
  if (out.size > 0) {
    if (k === 0) kernels(a).fill(out.buf(op), 0);
    else {
      kernels(a).matmul(A.t.buf(op), B.t.buf(op), out.buf(op), {
        batch,
        m,
        n,
        k,
        transA,
        transB,
        aBatchStride: A.stride,
        bBatchStride: B.stride,
      });
    }
  }
  if (A.t !== a) disposeIntermediate(A.t);
  if (B.t !== b) disposeIntermediate(B.t);
  return record(out, op, [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      ga = transA ? bmm(b, g, { transA: transB, transB: true }) : bmm(g, b, { transA: false, transB: !transB });
      ga = sumToShape(ga, a.shape);
    }
    if (b.requiresGrad) {
      gb = transB ? bmm(g, a, { transA: true, transB: transA }) : bmm(a, g, { transA: !transA, transB: false });
      gb = sumToShape(gb, b.shape);
    }
    return [ga, gb];
  });
}

/** torch.matmul: dot products, matrix-vector, matrix-matrix and broadcast batched products. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  sameBackend('matmul', a, b);
  if (a.rank === 0 || b.rank === 0) {
    throw new TesseraError('matmul', `both operands need at least one dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const a2 = a.rank === 1 ? a.reshape([1, a.shape[0]!]) : a;
  const b2 = b.rank === 1 ? b.reshape([b.shape[0]!, 1]) : b;
  let y: Tensor;
  if (a2.rank > 2 && b2.rank === 2) {
    // A stack of rows times one matrix is one larger GEMM.
    const flat = a2.reshape([-1, a2.shape.at(-1)!]);
    const y2 = bmm(flat, b2);
    y = reshapeTemp(y2, [...a2.shape.slice(0, -1), b2.shape[1]!]);
    if (flat !== a2) disposeIntermediate(flat);
  } else {
    y = bmm(a2, b2);
  }
  if (a.rank === 1) y = reshapeTemp(y, [...y.shape.slice(0, -2), y.shape.at(-1)!]);
  if (b.rank === 1) y = reshapeTemp(y, y.shape.slice(0, -1));
  if (a2 !== a) disposeIntermediate(a2);
  if (b2 !== b) disposeIntermediate(b2);
  return y;
}
