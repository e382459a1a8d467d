/** Helpers shared by the op implementations: operand checks, output allocation, scalar operands. */
import type { Backend } from '../backend/backend.js';
import type { BackendBuffer, Kernels } from '../backend/kernels.js';
import type { DType } from '../dtype.js';
import { TesseraError, fmtShape } from '../errors.js';
import type { Shape } from '../shape.js';
import { Tensor } from '../tensor.js';

export function kernels(t: Tensor): Kernels<BackendBuffer> {
  return t.backendImpl.kernels;
}

/** Throws unless every tensor is alive and on the same backend as the first. */
export function sameBackend(op: string, ...tensors: Tensor[]): Backend {
  const first = tensors[0]!;
  for (const t of tensors) {
    t.buf(op);
    if (t.backendImpl !== first.backendImpl) {
      throw new TesseraError(
        op,
        `tensors are on different backends (${first.backend} ${fmtShape(first.shape)} and ${t.backend} ${fmtShape(t.shape)}); move one with await t.to("${first.backend}")`,
      );
    }
  }
  return first.backendImpl;
}

export function empty(backend: Backend, shape: Shape, dtype: DType): Tensor {
  return Tensor.empty(backend, shape, dtype);
}

/** A tensor of `shape` filled with `value`, on `backend`. */
export function filled(backend: Backend, shape: Shape, dtype: DType, value: number): Tensor {
  const out = Tensor.empty(backend, shape, dtype);
  backend.kernels.fill(out.buf('full'), value);
  return out;
}

/** A 0-d tensor holding `value`, beside `like`. */
export function scalarLike(value: number, like: Tensor, dtype: DType = like.dtype): Tensor {
  return filled(like.backendImpl, [], dtype, value);
}

export function requireFloat(op: string, t: Tensor): void {
  if (t.dtype === 'int32') throw new TesseraError(op, `expects a float tensor, got int32 ${fmtShape(t.shape)}`);
}

/** Copies `x` (any dtype) into a new contiguous tensor of `dtype`. */
export function copyAs(x: Tensor, dtype: DType, op: string): Tensor {
  const out = Tensor.empty(x.backendImpl, x.shape, dtype);
  const shape = x.size === 0 ? [0] : [x.size];
  kernels(x).copy(x.buf(op), out.buf(op), { shape, inStrides: [1], inOffset: 0, outStrides: [1], outOffset: 0 });
  return out;
}

/**
 * Disposes a temporary that a composite op made, unless the autograd graph still needs it (then tidy, or
 * the graph's release after backward, decides its fate).
 */
export function disposeIntermediate(t: Tensor): void {
  if (!t.requiresGrad) t.dispose();
}

/** `t` reshaped, with the pre-reshape temporary released when nothing else needs it. */
export function reshapeTemp(t: Tensor, shape: readonly number[]): Tensor {
  const r = t.reshape(shape);
  disposeIntermediate(t);
  return r;
}
