/**
 * Parameters and buffers: tensors a Module owns. A tensor becomes one by passing through `parameter()` or
 * `buffer()` (or `Module.registerParameter` / `registerBuffer`); a module then finds it among its own fields,
 * the way PyTorch finds `nn.Parameter` attributes. The mark belongs to the tensor, so assigning a parameter to
 * another module's field shares it (tied weights), as in PyTorch.
 */
import { getBackend, initialisedBackend } from '../backend/registry.js';
import type { DType } from '../dtype.js';
import { keep } from '../engine.js';
import { TesseraError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';

const PARAMETERS = new WeakSet<Tensor>();
const BUFFERS = new WeakSet<Tensor>();

export interface ParameterOptions {
  /** Whether the optimiser trains it (default true). Only float tensors can require grad. */
  requiresGrad?: boolean;
}

/**
 * Marks `t` as a parameter (like `torch.nn.Parameter`): sets requiresGrad (unless told not to) and exempts it
 * from every enclosing tidy with `keep`, so it lives until disposed. Returns `t` itself.
 */
export function parameter<T extends Tensor>(t: T, opts: ParameterOptions = {}): T {
  const op = 'parameter';
  if (!(t instanceof Tensor)) throw new TesseraError(op, `expects a Tensor, got ${describe(t)}`);
  t.buf(op);
  if (!t.isLeaf || t.gradFn !== null) {
    throw new TesseraError(
      op,
      `a parameter must be a leaf tensor; ${String(t)} was produced by ${t.gradFn?.name ?? 'an op'} — pass t.detach() or a fresh tensor`,
    );
  }
  if (BUFFERS.has(t)) throw new TesseraError(op, `${String(t)} is already a buffer; a tensor cannot be both`);
  const requiresGrad = opts.requiresGrad ?? true;
  if (requiresGrad && t.dtype === 'int32') {
    throw new TesseraError(op, `only float tensors can be trainable parameters, got int32 ${fmtShape(t.shape)}; pass { requiresGrad: false }`);
  }
  t.requiresGrad_(requiresGrad);
  keep(t);
  PARAMETERS.add(t);
  return t;
}

/** Marks `t` as a buffer (state that is not trained, e.g. running statistics) and keeps it alive. */
export function buffer<T extends Tensor>(t: T): T {
  const op = 'buffer';
  if (!(t instanceof Tensor)) throw new TesseraError(op, `expects a Tensor, got ${describe(t)}`);
  t.buf(op);
  if (PARAMETERS.has(t)) throw new TesseraError(op, `${String(t)} is already a parameter; a tensor cannot be both`);
  keep(t);
  BUFFERS.add(t);
  return t;
}

export function isParameter(x: unknown): x is Tensor {
  return x instanceof Tensor && PARAMETERS.has(x);
}

export function isBuffer(x: unknown): x is Tensor {
  return x instanceof Tensor && BUFFERS.has(x);
}

/** @internal Carries the parameter/buffer mark (and requiresGrad) from `from` over to `to`, e.g. after a move. */
export function transferMark(from: Tensor, to: Tensor): void {
  if (from === to) return;
  if (PARAMETERS.has(from)) parameter(to, { requiresGrad: from.requiresGrad });
  else if (BUFFERS.has(from)) buffer(to);
}

/** @internal A short description of any value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x instanceof Tensor) return String(x);
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'no constructor'})`;
  return `${typeof x} ${String(x)}`;
}

/** Where a layer creates its parameters. */
export interface LayerOptions {
  /** float32 (default), or float64 on the CPU backend (for gradient checks). */
  dtype?: DType;
  /** Backend name (initialised); the current backend when omitted. */
  backend?: string;
  /** Initialise from this seed instead of the global generator (reproducible per layer). */
  seed?: number;
  /**
   * 'default' (PyTorch's initialisation) or 'none': parameters are zero-filled, for a caller that initialises
   * them itself or loads weights (skips drawing random numbers that would be overwritten).
   */
  init?: 'default' | 'none';
}

/** @internal An uninitialised trainable parameter of `shape`, to be filled by an initialiser. */
export function emptyParameter(shape: readonly number[], opts: LayerOptions, op: string): Tensor {
  const dtype = opts.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new TesseraError(op, `parameters must be float32 or float64, got ${String(dtype)}`);
  const backend = opts.backend === undefined ? getBackend() : initialisedBackend(opts.backend, op);
  return parameter(Tensor.empty(backend, shape, dtype));
}
