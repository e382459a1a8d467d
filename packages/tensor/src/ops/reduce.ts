/** Reductions (sum, mean, max, min over any set of dims) and arg-reductions, with their gradients. */
import { record } from '../autograd.js';
import type { ReduceOp } from '../backend/kernels.js';
import { TesseraError, fmtShape } from '../errors.js';
import { normAxes, normAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { disposeIntermediate, empty, kernels, reshapeTemp } from './util.js';

function reducedShapes(x: Tensor, axes: number[]): { out: number[]; kept: number[] } {
  const out: number[] = [];
  const kept: number[] = [];
  x.shape.forEach((d, i) => {
    if (axes.includes(i)) kept.push(1);
    else {
      out.push(d);
      kept.push(d);
    }
  });
  return { out, kept };
}

function rawReduce(op: ReduceOp, name: string, x: Tensor, dims: number | readonly number[] | undefined) {
  x.buf(name);
  const axes = normAxes(dims, x.rank, name);
  const shapes = reducedShapes(x, axes);
  if ((op === 'max' || op === 'min') && axes.some((a) => x.shape[a] === 0)) {
    throw new TesseraError(name, `cannot reduce an empty dimension of ${fmtShape(x.shape)} (max and min have no identity)`);
  }
  const out = empty(x.backendImpl, shapes.out, x.dtype);
  kernels(x).reduce(op, x.buf(name), out.buf(name), { shape: x.shape.slice(), axes });
  return { out, axes, kept: shapes.kept };
}

function finish(out: Tensor, kept: number[], keepDim: boolean): Tensor {
  return keepDim ? reshapeTemp(out, kept) : out;
}

export function sum(x: Tensor, dims: number | readonly number[] | undefined, keepDim: boolean): Tensor {
  const { out, kept } = rawReduce('sum', 'sum', x, dims);
  const y = record(out, 'sum', [x], (g) => [g.reshape(kept).expand(x.shape as number[])]);
  return finish(y, kept, keepDim);
}

export function mean(x: Tensor, dims: number | readonly number[] | undefined, keepDim: boolean): Tensor {
  if (x.dtype === 'int32') throw new TesseraError('mean', `expects a float tensor, got int32 ${fmtShape(x.shape)}`);
  const axes = normAxes(dims, x.rank, 'mean');
  const count = sizeOf(axes.map((a) => x.shape[a]!));
  const s = sum(x, axes, keepDim);
  const y = s.div(count);
  disposeIntermediate(s);
  return y;
}

function extreme(op: 'max' | 'min', x: Tensor, dims: number | readonly number[] | undefined, keepDim: boolean): Tensor {
  const { out, kept } = rawReduce(op, op, x, dims);
  if (x.dtype === 'int32') return finish(out, kept, keepDim);
  const y = record(
    out,
    op,
    [x],
    (g) => {
      const mask = x.eq(out.reshape(kept));
      const share = mask.div(mask.sum(normAxes(dims, x.rank, op), true));
      return [g.reshape(kept).mul(share)];
    },
    [out],
  );
  return finish(y, kept, keepDim);
}

export function max(x: Tensor, dims: number | readonly number[] | undefined, keepDim: boolean): Tensor {
  return extreme('max', x, dims, keepDim);
}

export function min(x: Tensor, dims: number | readonly number[] | undefined, keepDim: boolean): Tensor {
  return extreme('min', x, dims, keepDim);
}

export function argReduce(op: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepDim: boolean): Tensor {
  x.buf(op);
  if (x.size === 0) throw new TesseraError(op, `cannot take ${op} of an empty tensor ${fmtShape(x.shape)}`);
  let outer = 1;
  let size = x.size;
  let inner = 1;
  let outShape: number[] = [];
  if (dim !== undefined) {
    const d = normAxis(dim, x.rank, op);
    outer = sizeOf(x.shape.slice(0, d));
    size = x.shape[d] ?? 1;
    inner = sizeOf(x.shape.slice(d + 1));
    outShape = keepDim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
  } else if (keepDim) {
    outShape = x.shape.map(() => 1);
  }
  const out = empty(x.backendImpl, outShape, 'int32');
  kernels(x).argReduce(op, x.buf(op), out.buf(op), { outer, size, inner });
  return out;
}
