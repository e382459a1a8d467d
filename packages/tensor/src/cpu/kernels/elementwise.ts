/** fill, unary and broadcasting binary kernels. */
import type { BinaryOp, BinaryParams, UnaryOp } from '../../backend/kernels.js';
import { TesseraError } from '../../errors.js';
import type { CpuBuffer } from '../backend.js';
import { collapseDims, contiguousStrides } from '../../backend-toolkit/strides.js';
import { forEachRun } from './util.js';

type Data = CpuBuffer['data'];

export function fill(out: CpuBuffer, value: number): void {
  // TypedArray.fill converts like an element store: rounds for float32, truncates (ToInt32) for int32.
  out.data.fill(value);
}

/** Numerically stable logistic function: never evaluates exp of a large positive argument. */
function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

export function unary(op: UnaryOp, x: CpuBuffer, out: CpuBuffer): void {
  const a = x.data;
  const o = out.data;
  const n = Math.min(a.length, o.length);
  // One loop per op so that each stays monomorphic and free of per-element dispatch.
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) o[i] = -a[i]!;
      return;
    case 'abs':
      for (let i = 0; i < n; i++) o[i] = Math.abs(a[i]!);
      return;
    case 'sign':
      for (let i = 0; i < n; i++) o[i] = Math.sign(a[i]!);
      return;
    case 'exp':
      for (let i = 0; i < n; i++) o[i] = Math.exp(a[i]!);
      return;
    case 'log':
      for (let i = 0; i < n; i++) o[i] = Math.log(a[i]!);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) o[i] = Math.sqrt(a[i]!);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) o[i] = 1 / Math.sqrt(a[i]!);
      return;
    case 'square':
      for (let i = 0; i < n; i++) {
        const v = a[i]!;
        o[i] = v * v;
      }
      return;
    case 'reciprocal':
      for (let i = 0; i < n; i++) o[i] = 1 / a[i]!;
      return;
    case 'relu':
      // `v < 0 ? 0 : v` keeps NaN as NaN (PyTorch semantics) instead of hiding it as 0.
      for (let i = 0; i < n; i++) {
        const v = a[i]!;
        o[i] = v < 0 ? 0 : v;
      }
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) o[i] = Math.tanh(a[i]!);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) o[i] = sigmoid(a[i]!);
      return;
    default:
      throw new TesseraError('unary', `unknown op ${JSON.stringify(op as string)}`);
  }
}

/** out[oi + t] = a[ai + t·sa] op b[bi + t·sb] for t < n. Strides may be 0 (a broadcast operand). */
function binaryRun(op: BinaryOp, a: Data, ai: number, sa: number, b: Data, bi: number, sb: number, o: Data, oi: number, n: number): void {
  const end = oi + n;
  switch (op) {
    case 'add':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! + b[bi]!;
      return;
    case 'sub':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! - b[bi]!;
      return;
    case 'mul':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! * b[bi]!;
      return;
    case 'div':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! / b[bi]!;
      return;
    case 'pow':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = Math.pow(a[ai]!, b[bi]!);
      return;
    case 'maximum':
      // Math.max/min propagate NaN, as torch.maximum/minimum do.
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = Math.max(a[ai]!, b[bi]!);
      return;
    case 'minimum':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = Math.min(a[ai]!, b[bi]!);
      return;
    case 'eq':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! === b[bi]! ? 1 : 0;
      return;
    case 'ne':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! !== b[bi]! ? 1 : 0;
      return;
    case 'lt':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! < b[bi]! ? 1 : 0;
      return;
    case 'le':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! <= b[bi]! ? 1 : 0;
      return;
    case 'gt':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! > b[bi]! ? 1 : 0;
      return;
    case 'ge':
      for (; oi < end; oi++, ai += sa, bi += sb) o[oi] = a[ai]! >= b[bi]! ? 1 : 0;
      return;
    default:
      throw new TesseraError('binary', `unknown op ${JSON.stringify(op as string)}`);
  }
}

export function binary(op: BinaryOp, a: CpuBuffer, b: CpuBuffer, out: CpuBuffer, p: BinaryParams): void {
  const outStrides = contiguousStrides(p.outShape);
  // Equal shapes and scalar operands collapse to a single run (stride 1 or 0), the fast paths.
  const c = collapseDims(p.outShape, [p.aStrides, p.bStrides, outStrides]);
  const [sa, sb, so] = c.strides as [number[], number[], number[]];
  const r = c.shape.length;
  const ia = r === 0 ? 0 : sa[r - 1]!;
  const ib = r === 0 ? 0 : sb[r - 1]!;
  const ad = a.data;
  const bd = b.data;
  const od = out.data;
  forEachRun(c.shape, [sa, sb, so], [0, 0, 0], (off, n) => binaryRun(op, ad, off[0]!, ia, bd, off[1]!, ib, od, off[2]!, n));
}
