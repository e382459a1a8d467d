/** fill, unary, broadcasting binary and the strided copy, as gpu.js kernels over the output's elements. */
import { TesseraError, collapseDims, contiguousStrides, fmtShape } from '@tessera/tensor/backend';
import type { BinaryOp, BinaryParams, CopyParams, UnaryOp } from '@tessera/tensor/backend';
import { type GpujsBuffer, MAX_EXACT, type Runtime } from '../runtime.js';

/** The int32 store of a float value computed on the host (ToInt32), refused where float32 cannot hold it. */
export function hostInt(op: string, value: number): number {
  const v = value | 0;
  if (Math.abs(v) > MAX_EXACT) {
    throw new TesseraError(op, `int32 value ${v} is outside ±2^24, the integers the gpujs backend's float32 textures hold exactly`);
  }
  return v;
}

const UNARY: Record<UnaryOp, string> = {
  neg: '-x',
  abs: 'Math.abs(x)',
  sign: '(x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x))',
  exp: 'Math.exp(x)',
  log: 'Math.log(x)',
  sqrt: 'Math.sqrt(x)',
  rsqrt: '1.0 / Math.sqrt(x)',
  square: 'x * x',
  reciprocal: '1.0 / x',
  relu: '(x < 0.0 ? 0.0 : x)',
  tanh: 'tanhf(x)',
  sigmoid: 'sigmoidf(x)',
};

/** Float expressions of x and y; int32 operands get the int-only variants below. */
const BINARY: Record<BinaryOp, string> = {
  add: 'x + y',
  sub: 'x - y',
  mul: 'x * y',
  div: 'x / y',
  pow: 'powf(x, y)',
  maximum: 'Math.max(x, y)',
  minimum: 'Math.min(x, y)',
  eq: '(x == y ? 1.0 : 0.0)',
  ne: '(x != y ? 1.0 : 0.0)',
  lt: '(x < y ? 1.0 : 0.0)',
  le: '(x <= y ? 1.0 : 0.0)',
  gt: '(x > y ? 1.0 : 0.0)',
  ge: '(x >= y ? 1.0 : 0.0)',
};

const INT_BINARY: Partial<Record<BinaryOp, string>> = { div: 'idivt(x, y)', pow: 'trunc0(Math.floor(powf(x, y) + 0.5))' };

/** Functions the unary and binary expressions use (gpu.js adds only those a kernel calls). */
export const ELEMENTWISE_HELPERS: readonly string[] = [
  // tanh without cancellation near 0 (series) and without overflow for large |x|.
  `function tanhf(x) {
    const a = Math.abs(x);
    let r = 0.0;
    if (a < 0.25) {
      const s = a * a;
      r = a * (1.0 + s * (-0.333333333333 + s * (0.133333333333 + s * (-0.053968253968 + s * 0.021869488536))));
    } else {
      const t = Math.exp(-2.0 * a);
      r = (1.0 - t) / (1.0 + t);
    }
    if (x < 0.0) { return -r; }
    return r;
  }`,
  `function sigmoidf(x) {
    if (x >= 0.0) { return 1.0 / (1.0 + Math.exp(-x)); }
    const e = Math.exp(x);
    return e / (1.0 + e);
  }`,
  // Math.pow's semantics for negative bases and zero (GLSL's pow is undefined there).
  `function powf(x, y) {
    if (y == 0.0) { return 1.0; }
    const a = Math.abs(x);
    if (a == 0.0) {
      if (y > 0.0) { return 0.0; }
      return 1.0 / a;
    }
    const r = Math.pow(a, y);
    if (x > 0.0) { return r; }
    if (Math.floor(y) != y) { return (a - a) / (a - a); }
    const half = y * 0.5;
    if (Math.floor(half) != half) { return -r; }
    return r;
  }`,
  // Integer division truncating toward zero (an int32 store of x / y); 0 for y = 0 (ToInt32 of ±∞ or NaN).
  `function idivt(x, y) {
    if (y == 0.0) { return 0.0; }
    const q = fdiv(Math.abs(x), Math.abs(y));
    if ((x < 0.0) != (y < 0.0)) { return -q; }
    return q;
  }`,
];

/** Host layout for a strided walk: [rank, shape…, strides of each operand…]. */
function stridedMeta(shape: number[], strides: number[][]): Float32Array {
  const r = shape.length;
  const meta = new Float32Array(1 + r * (1 + strides.length));
  meta[0] = r;
  meta.set(shape, 1);
  strides.forEach((s, i) => meta.set(s, 1 + r * (i + 1)));
  return meta;
}

export function elementwiseKernels(rt: Runtime) {
  function fill(out: GpujsBuffer, value: number): void {
    rt.alive('fill');
    const v = out.dtype === 'int32' ? hostInt('fill', value) : Math.fround(value);
    rt.run(
      rt.kernel('fill', () => 'function (v) { return v; }'),
      out,
      [v],
    );
  }

  function unary(op: UnaryOp, x: GpujsBuffer, out: GpujsBuffer): void {
    rt.alive('unary');
    const expr = UNARY[op];
    if (!expr) throw new TesseraError('unary', `unknown op ${JSON.stringify(op as string)}`);
    const int = out.dtype === 'int32';
    const k = rt.kernel(`unary:${op}:${int}`, () => `function (a) { const x = a[this.thread.x]; return ${int ? `trunc0(${expr})` : expr}; }`);
    rt.run(k, out, [x]);
  }

  function binary(op: BinaryOp, a: GpujsBuffer, b: GpujsBuffer, out: GpujsBuffer, p: BinaryParams): void {
    rt.alive('binary');
    const float = BINARY[op];
    if (!float) throw new TesseraError('binary', `unknown op ${JSON.stringify(op as string)}`);
    const int = a.dtype === 'int32';
    const expr = int ? (INT_BINARY[op] ?? float) : float;
    const c = collapseDims(p.outShape, [p.aStrides, p.bStrides]);
    const k = rt.kernel(
      `binary:${op}:${int}`,
      () =>
        `function (a, b, meta) {
        const rank = meta[0];
        let rem = this.thread.x + 0.0;
        let ia = 0.0;
        let ib = 0.0;
        for (let t = 0.0; t < rank; t += 1.0) {
          const d = rank - 1.0 - t;
          const ext = meta[1.0 + d];
          const q = fdiv(rem, ext);
          const cd = rem - q * ext;
          ia = ia + cd * meta[1.0 + rank + d];
          ib = ib + cd * meta[1.0 + 2.0 * rank + d];
          rem = q;
        }
        const x = a[ia];
        const y = b[ib];
        return ${expr};
      }`,
    );
    rt.run(k, out, [a, b, stridedMeta(c.shape, c.strides)]);
  }

  function copy(x: GpujsBuffer, out: GpujsBuffer, p: CopyParams): void {
    rt.alive('copy');
    const total = p.shape.reduce((s, d) => s * d, 1);
    if (total === 0 || out.size === 0) return;
    const c = collapseDims(p.shape, [p.inStrides, p.outStrides]);
    const [inS, outS] = c.strides as [number[], number[]];
    // Each output element finds its view coordinate by peeling the largest out stride first; that inverts the
    // view when the strides nest (each exceeds the span of the smaller ones), as every permute, slice, concat
    // and pad destination does. Anything else would need a scatter, which a fragment shader cannot do.
    const order = c.shape.map((_, d) => d).sort((i, j) => outS[j]! - outS[i]!);
    let span = 0;
    for (let t = order.length - 1; t >= 0; t--) {
      const d = order[t]!;
      if (outS[d]! <= span) {
        throw new TesseraError(
          'copy',
          `the gpujs backend writes strided views whose output strides nest; got shape ${fmtShape(p.shape)} out strides ${fmtShape(p.outStrides)}`,
        );
      }
      span += (c.shape[d]! - 1) * outS[d]!;
    }
    const shape = order.map((d) => c.shape[d]!);
    const meta = stridedMeta(shape, [order.map((d) => inS[d]!), order.map((d) => outS[d]!)]);
    const cast = out.dtype === 'int32' && x.dtype !== 'int32';
    const full = total === out.size && p.outOffset === 0 && contiguousStrides(p.shape).every((s, d) => p.shape[d] === 1 || s === p.outStrides[d]);
    const k = rt.kernel(
      `copy:${cast}:${full}`,
      () =>
        `function (x, prev, meta, inOffset, outOffset) {
        const rank = meta[0];
        let rem = this.thread.x - outOffset;
        let inside = 1.0;
        if (rem < 0.0) { inside = 0.0; }
        let src = inOffset;
        for (let d = 0.0; d < rank; d += 1.0) {
          const stride = meta[1.0 + 2.0 * rank + d];
          const q = fdiv(rem, stride);
          if (q >= meta[1.0 + d]) { inside = 0.0; }
          src = src + q * meta[1.0 + rank + d];
          rem = rem - q * stride;
        }
        if (rem != 0.0) { inside = 0.0; }
        ${full ? '' : 'if (inside == 0.0) { return prev[this.thread.x]; }'}
        const v = x[src];
        return ${cast ? 'trunc0(v)' : 'v'};
      }`,
    );
    rt.run(k, out, [x, full ? x : out, meta, p.inOffset, p.outOffset]);
  }

  return { fill, unary, binary, copy };
}
