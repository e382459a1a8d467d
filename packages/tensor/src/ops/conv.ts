/** 2-D convolution and the fully connected layer. */
import { record } from '../autograd.js';
import type { Conv2dParams } from '../backend/kernels.js';
import { TesseraError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { bmm } from './matmul.js';
import { disposeIntermediate, empty, kernels, requireFloat, reshapeTemp, sameBackend } from './util.js';

export type Pair = number | readonly [number, number];

/** Reads an int-or-pair argument, checking each entry is an integer ≥ `min`. */
export function pair(value: Pair | undefined, fallback: number, name: string, op: string, min: number): [number, number] {
  const v = value ?? fallback;
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Array.isArray(v) && typeof v !== 'number') throw new TesseraError(op, `${name} must be a number or a pair, got ${JSON.stringify(v)}`);
  for (const x of p) {
    if (!Number.isInteger(x) || x < min) {
      throw new TesseraError(op, `${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer (or pair of them), got ${JSON.stringify(v)}`);
    }
  }
  return p;
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** Validates conv2d arguments and computes its geometry. */
export function conv2dGeometry(xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions): Conv2dParams {
  const op = 'conv2d';
  if (xShape.length !== 4) throw new TesseraError(op, `input must be [N, C, H, W], got ${fmtShape(xShape)}`);
  if (wShape.length !== 4) throw new TesseraError(op, `weight must be [C_out, C_in/groups, kH, kW], got ${fmtShape(wShape)}`);
  const [n, cIn, h, w] = xShape as [number, number, number, number];
  const [cOut, cPerGroup, kh, kw] = wShape as [number, number, number, number];
  const [strideH, strideW] = pair(opts.stride, 1, 'stride', op, 1);
  const [padH, padW] = pair(opts.padding, 0, 'padding', op, 0);
  const [dilationH, dilationW] = pair(opts.dilation, 1, 'dilation', op, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new TesseraError(op, `groups must be a positive integer, got ${groups}`);
  if (cIn % groups !== 0 || cOut % groups !== 0) {
    throw new TesseraError(
      op,
      `groups=${groups} must divide both input channels (${cIn}) and output channels (${cOut}); input ${fmtShape(xShape)}, weight ${fmtShape(wShape)}`,
    );
  }
  if (cPerGroup * groups !== cIn) {
    throw new TesseraError(
      op,
      `weight ${fmtShape(wShape)} expects ${cPerGroup * groups} input channels (C_in/groups = ${cPerGroup}, groups = ${groups}) but the input ${fmtShape(xShape)} has ${cIn}`,
    );
  }
  const effH = dilationH * (kh - 1) + 1;
  const effW = dilationW * (kw - 1) + 1;
  if (kh < 1 || kw < 1 || effH > h + 2 * padH || effW > w + 2 * padW) {
    throw new TesseraError(
      op,
      `kernel ${kh}×${kw} (dilated ${effH}×${effW}) is larger than the padded input ${h + 2 * padH}×${w + 2 * padW}; input ${fmtShape(xShape)}, padding ${padH}×${padW}`,
    );
  }
  const outH = Math.floor((h + 2 * padH - effH) / strideH) + 1;
  const outW = Math.floor((w + 2 * padW - effW) / strideW) + 1;
  return { n, cIn, h, w, cOut, kh, kw, outH, outW, strideH, strideW, padH, padW, dilationH, dilationW, groups };
}

/** torch.nn.functional.conv2d: x [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW], bias [C_out]. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  sameBackend(op, x, weight, ...(bias ? [bias] : []));
  requireFloat(op, x);
  if (x.rank === 3) {
    const y = conv2d(x.unsqueeze(0), weight, bias, opts);
    return reshapeTemp(y, y.shape.slice(1));
  }
  const p = conv2dGeometry(x.shape, weight.shape, opts);
  if (weight.dtype !== x.dtype || (bias && bias.dtype !== x.dtype)) {
    throw new TesseraError(op, `input, weight and bias must share a dtype, got ${x.dtype}, ${weight.dtype}${bias ? `, ${bias.dtype}` : ''}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== p.cOut)) {
    throw new TesseraError(op, `bias must be [${p.cOut}] for weight ${fmtShape(weight.shape)}, got ${fmtShape(bias.shape)}`);
  }
  const y = empty(x.backendImpl, [p.n, p.cOut, p.outH, p.outW], x.dtype);
  if (y.size > 0) kernels(x).conv2d(x.buf(op), weight.buf(op), bias ? bias.buf(op) : null, y.buf(op), p);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, op, inputs, (g) => {
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(g.backendImpl, x.shape, g.dtype);
      kernels(g).conv2dBackwardInput(g.buf(op), weight.buf(op), dx.buf(op), p);
    }
    if (weight.requiresGrad) {
      dw = empty(g.backendImpl, weight.shape, g.dtype);
      kernels(g).conv2dBackwardFilter(x.buf(op), g.buf(op), dw.buf(op), p);
    }
    const grads: (Tensor | null)[] = [dx, dw];
    if (bias) grads.push(bias.requiresGrad ? g.sum([0, 2, 3]) : null);
    return grads;
  });
}

/** torch.nn.functional.linear: x [*, in] · weightᵀ (+ bias), weight [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const op = 'linear';
  sameBackend(op, x, weight, ...(bias ? [bias] : []));
  if (weight.rank !== 2) throw new TesseraError(op, `weight must be [out, in], got ${fmtShape(weight.shape)}`);
  if (x.rank < 1 || x.shape.at(-1) !== weight.shape[1]) {
    throw new TesseraError(op, `input ${fmtShape(x.shape)} must end in ${weight.shape[1]} features for weight ${fmtShape(weight.shape)}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new TesseraError(op, `bias must be [${weight.shape[0]}] for weight ${fmtShape(weight.shape)}, got ${fmtShape(bias.shape)}`);
  }
  const x2 = x.rank === 2 ? x : x.reshape([-1, weight.shape[1]!]);
  let y = bmm(x2, weight, { transB: true });
  if (bias) {
    const yb = y.add(bias);
    disposeIntermediate(y);
    y = yb;
  }
  if (x2 !== x) disposeIntermediate(x2);
  return x.rank === 2 ? y : reshapeTemp(y, [...x.shape.slice(0, -1), weight.shape[0]!]);
}
