/** Elementwise unary and binary ops with NumPy broadcasting, and their gradients. */
import { record } from '../autograd.js';
import type { BinaryOp, UnaryOp } from '../backend/kernels.js';
import { promoteTypes, type DType } from '../dtype.js';
import { noGrad } from '../engine.js';
import { TesseraError, fmtShape } from '../errors.js';
import { broadcastShapes, broadcastStrides, shapesEqual, type Shape } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { copyAs, empty, filled, kernels, sameBackend, scalarLike } from './util.js';

const COMPARISONS = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const INT_UNARY = new Set<UnaryOp>(['neg', 'abs', 'sign', 'relu', 'square']);

/** Sums `g` over broadcast dimensions so it has `shape` (the gradient of an implicit broadcast). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return g.sum(axes, false).reshape(shape as number[]);
}

function operandDType(a: TensorLike, b: TensorLike): DType {
  if (a instanceof Tensor && b instanceof Tensor) return promoteTypes(a.dtype, b.dtype);
  const t = (a instanceof Tensor ? a : b) as Tensor;
  const s = (a instanceof Tensor ? b : a) as number;
  // An int32 tensor with a fractional scalar computes in float32, as in PyTorch.
  return t.dtype === 'int32' && !Number.isInteger(s) ? 'float32' : t.dtype;
}

function asOperand(x: TensorLike, like: Tensor, dtype: DType, op: string): Tensor {
  if (x instanceof Tensor) return x.dtype === dtype ? x : cast(x, dtype);
  if (typeof x !== 'number') throw new TesseraError(op, `operand must be a Tensor or a number, got ${typeof x}`);
  return scalarLike(x, like, dtype);
}

export function binaryOp(op: BinaryOp, aIn: TensorLike, bIn: TensorLike): Tensor {
  const like = aIn instanceof Tensor ? aIn : bIn instanceof Tensor ? bIn : undefined;
  if (!like) throw new TesseraError(op, 'needs at least one tensor operand');
  if (aIn instanceof Tensor && bIn instanceof Tensor) sameBackend(op, aIn, bIn);
  else like.buf(op);
  const dtype = operandDType(aIn, bIn);
  const a = asOperand(aIn, like, dtype, op);
  const b = asOperand(bIn, like, dtype, op);
  const outShape = broadcastShapes(a.shape, b.shape, op);
  const out = empty(like.backendImpl, outShape, dtype);
  kernels(a).binary(op, a.buf(op), b.buf(op), out.buf(op), {
    outShape,
    aStrides: broadcastStrides(a.shape, outShape),
    bStrides: broadcastStrides(b.shape, outShape),
  });
  // Scalar operands and casts made here are temporaries: the gradient rule below reads numbers, not them.
  const opA: TensorLike = aIn instanceof Tensor ? a : aIn;
  const opB: TensorLike = bIn instanceof Tensor ? b : bIn;
  if (a !== aIn && !a.requiresGrad) a.dispose();
  if (b !== bIn && !b.requiresGrad) b.dispose();
  if (COMPARISONS.has(op) || dtype === 'int32') return out;
  const inputs: Tensor[] = [];
  if (opA instanceof Tensor) inputs.push(opA);
  if (opB instanceof Tensor) inputs.push(opB);
  return record(out, op, inputs, (g) => {
    const [ga, gb] = binaryGrad(op, g, opA, opB, out);
    const grads: (Tensor | null)[] = [];
    if (opA instanceof Tensor) grads.push(ga);
    if (opB instanceof Tensor) grads.push(gb);
    return grads;
  });
}

function wants(x: TensorLike): x is Tensor {
  return x instanceof Tensor && x.requiresGrad;
}

function binaryGrad(op: BinaryOp, g: Tensor, a: TensorLike, b: TensorLike, out: Tensor): [Tensor | null, Tensor | null] {
  let ga: Tensor | null = null;
  let gb: Tensor | null = null;
  switch (op) {
    case 'add':
      ga = wants(a) ? g : null;
      gb = wants(b) ? g : null;
      break;
    case 'sub':
      ga = wants(a) ? g : null;
      gb = wants(b) ? g.neg() : null;
      break;
    case 'mul':
      ga = wants(a) ? g.mul(b) : null;
      gb = wants(b) ? g.mul(a) : null;
      break;
    case 'div':
      ga = wants(a) ? g.div(b) : null;
      gb = wants(b) ? g.mul(out).div(b).neg() : null;
      break;
    case 'pow': {
      if (wants(a)) ga = g.mul(b).mul(a.pow(typeof b === 'number' ? b - 1 : b.sub(1)));
      if (wants(b)) {
        // d(a^b)/db = a^b · ln a, taken as 0 where a = 0 (as PyTorch does) by reading ln 1 there.
        const base = typeof a === 'number' ? scalarLike(a === 0 ? 1 : a, g) : a.add(a.eq(0));
        gb = g.mul(out).mul(base.log());
      }
      break;
    }
    case 'maximum':
    case 'minimum': {
      // Ties split the gradient evenly, as PyTorch does. `wins(x, y)` is 1 where x alone is the result.
      const wins = (x: Tensor, y: TensorLike) => (op === 'maximum' ? x.gt(y) : x.lt(y)).add(x.eq(y).mul(0.5));
      if (wants(a)) ga = g.mul(wins(a, b));
      if (wants(b)) gb = g.mul(wins(b, a));
      break;
    }
    default:
      throw new TesseraError(op, 'has no gradient');
  }
  return [ga && sumToShape(ga, (a as Tensor).shape), gb && sumToShape(gb, (b as Tensor).shape)];
}

export function unaryOp(op: UnaryOp, x: Tensor): Tensor {
  x.buf(op);
  if (x.dtype === 'int32' && !INT_UNARY.has(op)) {
    throw new TesseraError(op, `expects a float tensor, got int32 ${fmtShape(x.shape)}; cast it with .cast('float32')`);
  }
  const out = empty(x.backendImpl, x.shape, x.dtype);
  kernels(x).unary(op, x.buf(op), out.buf(op));
  if (x.dtype === 'int32') return out;
  return record(out, op, [x], (g) => [unaryGrad(op, g, x, out)]);
}

function unaryGrad(op: UnaryOp, g: Tensor, x: Tensor, y: Tensor): Tensor {
  switch (op) {
    case 'neg':
      return g.neg();
    case 'abs':
      return g.mul(x.sign());
    case 'sign':
      return g.zerosLike();
    case 'exp':
      return g.mul(y);
    case 'log':
      return g.div(x);
    case 'sqrt':
      return g.mul(0.5).div(y);
    case 'rsqrt':
      return g.mul(y.pow(3)).mul(-0.5);
    case 'square':
      return g.mul(x).mul(2);
    case 'reciprocal':
      return g.mul(y.square()).neg();
    case 'relu':
      return g.mul(x.gt(0));
    case 'tanh':
      return g.mul(y.square().neg().add(1));
    case 'sigmoid':
      return g.mul(y).mul(y.neg().add(1));
  }
}

export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  if (min === undefined && max === undefined) throw new TesseraError('clamp', 'needs min, max or both');
  if (min !== undefined && max !== undefined && min > max) throw new TesseraError('clamp', `min ${min} is above max ${max}`);
  const out = noGrad(() => {
    let y = x;
    if (min !== undefined) y = y.maximum(min);
    if (max !== undefined) {
      const z = y.minimum(max);
      if (y !== x) y.dispose();
      y = z;
    }
    return y === x ? x.clone() : y;
  });
  if (x.dtype === 'int32') return out;
  return record(out, 'clamp', [x], (g) => {
    let mask = g.onesLike();
    if (min !== undefined) mask = mask.mul(x.ge(min));
    if (max !== undefined) mask = mask.mul(x.le(max));
    return [g.mul(mask)];
  });
}

export function cast(x: Tensor, dtype: DType): Tensor {
  x.buf('cast');
  const out = copyAs(x, dtype, 'cast');
  if (dtype === 'int32' || x.dtype === 'int32') return out;
  return record(out, 'cast', [x], (g) => [cast(g, x.dtype)]);
}

export function clone(x: Tensor): Tensor {
  x.buf('clone');
  const out = copyAs(x, x.dtype, 'clone');
  return record(out, 'clone', [x], (g) => [g]);
}

export function fullLike(x: Tensor, value: number): Tensor {
  return filled(x.backendImpl, x.shape, x.dtype, value);
}

/**
 * Clamps to [minVal, maxVal], after torch.nn.functional.hardtanh. Unlike `clamp` (whose gradient passes at the
 * bounds too, as torch.clamp's does), the gradient passes only where minVal < x < maxVal strictly, as PyTorch's
 * hardtanh_backward does; relu6 is hardtanh(x, 0, 6) and shares that rule.
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1, op = 'hardtanh'): Tensor {
  x.buf(op);
  if (x.dtype === 'int32') throw new TesseraError(op, `expects a float tensor, got int32 ${fmtShape(x.shape)}; cast it with .cast('float32')`);
  for (const [name, v] of [
    ['minVal', minVal],
    ['maxVal', maxVal],
  ] as const) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new TesseraError(op, `${name} must be a number, got ${String(v)}`);
  }
  if (minVal > maxVal) throw new TesseraError(op, `minVal ${minVal} is above maxVal ${maxVal}`);
  const out = noGrad(() => {
    const lower = x.maximum(minVal);
    const y = lower.minimum(maxVal);
    lower.dispose();
    return y;
  });
  return record(out, op, [x], (g) => [g.mul(x.gt(minVal).mul(x.lt(maxVal)))]);
}
