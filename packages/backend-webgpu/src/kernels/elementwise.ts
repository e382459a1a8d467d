/** fill, unary, broadcasting binary and the strided copy (permute, expand, slice, concat, pad, casts). */
import type { BinaryOp, BinaryParams, CopyParams, UnaryOp } from '@tessera/tensor';
import { TesseraError } from '@tessera/tensor';
import { type GpuBuffer, Params, type Runtime } from '../runtime.js';
import { contiguousStrides } from '@tessera/tensor/backend';
import { planStrided, type StridedPiece } from '../binding-windows/strided.js';
import { NUMERIC, WG, mainHeader, storage, wgslType } from '../wgsl/common.js';
import { planLinear } from '../binding-windows/contiguous.js';

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);

/** Bits of `value` stored as the dtype would store it (float32 rounding, or JavaScript ToInt32). */
function storedBits(value: number, dtype: string): number {
  if (dtype === 'int32') return value | 0;
  f32View[0] = value;
  return u32View[0]!;
}

const FLOAT_UNARY: Record<UnaryOp, string> = {
  neg: '-x',
  abs: 'abs(x)',
  sign: 'select(sign(x), x, is_nan(x) || x == 0.0)',
  exp: 'exp(x)',
  log: 'select(select(log(x), -inf_f32(), x == 0.0), nan_f32(), x < 0.0 || is_nan(x))',
  sqrt: 'select(sqrt(x), nan_f32(), x < 0.0 || is_nan(x))',
  rsqrt: 'select(select(1.0 / sqrt(x), inf_f32(), x == 0.0), nan_f32(), x < 0.0 || is_nan(x))',
  square: 'x * x',
  reciprocal: '1.0 / x',
  relu: 'select(x, 0.0, x < 0.0)',
  tanh: 'select(tanh(clamp(x, -15.0, 15.0)), x, is_nan(x))',
  sigmoid: 'sigmoid(x)',
};

const INT_UNARY: Partial<Record<UnaryOp, string>> = {
  neg: '-x',
  abs: 'abs(x)',
  sign: 'sign(x)',
  relu: 'max(x, 0)',
  square: 'x * x',
};

const SIGMOID = /* wgsl */ `
fn sigmoid(v: f32) -> f32 {
  if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
  let e = exp(v);
  return e / (1.0 + e);
}
`;

const FLOAT_BINARY: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'pow_js(a, b)',
  maximum: 'select(max(a, b), nan_f32(), is_nan(a) || is_nan(b))',
  minimum: 'select(min(a, b), nan_f32(), is_nan(a) || is_nan(b))',
  eq: 'select(0.0, 1.0, a == b)',
  ne: 'select(0.0, 1.0, a != b)',
  lt: 'select(0.0, 1.0, a < b)',
  le: 'select(0.0, 1.0, a <= b)',
  gt: 'select(0.0, 1.0, a > b)',
  ge: 'select(0.0, 1.0, a >= b)',
};

const INT_BINARY: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'select(0, a / b, b != 0)',
  pow: 'ipow(a, b)',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
  eq: 'select(0, 1, a == b)',
  ne: 'select(0, 1, a != b)',
  lt: 'select(0, 1, a < b)',
  le: 'select(0, 1, a <= b)',
  gt: 'select(0, 1, a > b)',
  ge: 'select(0, 1, a >= b)',
};

/** Math.pow semantics: negative bases only with integral exponents; exact small cases. */
const POW = /* wgsl */ `
fn pow_js(a: f32, b: f32) -> f32 {
  if (is_nan(b)) { return nan_f32(); }
  if (b == 0.0) { return 1.0; }
  if (is_nan(a)) { return nan_f32(); }
  if (b == 1.0) { return a; }
  if (b == 2.0) { return a * a; }
  if (b == -1.0) { return 1.0 / a; }
  if (b == 0.5 && a >= 0.0) { return sqrt(a); }
  let m = abs(a);
  var r: f32;
  if (m == 0.0) { r = select(inf_f32(), 0.0, b > 0.0); }
  else if (m == inf_f32()) { r = select(0.0, inf_f32(), b > 0.0); }
  else { r = exp2(b * log2(m)); }
  if (a < 0.0 || (a == 0.0 && (bitcast<u32>(a) >> 31u) != 0u)) {
    if (abs(b) < 16777216.0 && floor(b) != b) { return nan_f32(); }
    let odd = abs(b) < 16777216.0 && fract(b * 0.5) != 0.0;
    return select(r, -r, odd);
  }
  return r;
}
fn ipow(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) != 0); }
    return 0;
  }
  var base = a;
  var e = b;
  var r = 1;
  loop {
    if (e == 0) { break; }
    if ((e & 1) != 0) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}
`;

/** WGSL that turns the flat index `i` of a piece of rank `rank` into per-operand indices idx0…. */
function stridedIndex(p: Params, rank: number, operands: number): string {
  let s = `  var rem = i;\n`;
  for (let k = 0; k < operands; k++) s += `  var idx${k} = ${p.get(`off${k}`)};\n`;
  for (let d = rank - 1; d >= 0; d--) {
    if (d > 0) s += `  let c${d} = rem % ${p.get(`n${d}`)};\n  rem = rem / ${p.get(`n${d}`)};\n`;
    else s += `  let c0 = rem;\n`;
    for (let k = 0; k < operands; k++) s += `  idx${k} += c${d} * ${p.get(`s${k}_${d}`)};\n`;
  }
  return s;
}

function stridedParams(rank: number, operands: number): Params {
  const fields: [string, 'u32'][] = [['total', 'u32']];
  for (let d = 0; d < rank; d++) fields.push([`n${d}`, 'u32']);
  for (let k = 0; k < operands; k++) {
    fields.push([`off${k}`, 'u32']);
    for (let d = 0; d < rank; d++) fields.push([`s${k}_${d}`, 'u32']);
  }
  return new Params(fields);
}

function stridedValues(piece: StridedPiece): Record<string, number> {
  const v: Record<string, number> = { total: piece.shape.reduce((a, b) => a * b, 1) };
  piece.shape.forEach((n, d) => (v[`n${d}`] = n));
  piece.offsets.forEach((o, k) => {
    v[`off${k}`] = o;
    piece.strides[k]!.forEach((s, d) => (v[`s${k}_${d}`] = s));
  });
  return v;
}

export function elementwiseKernels(rt: Runtime) {
  const linearParams = new Params([
    ['n', 'u32'],
    ['value', 'u32'],
  ]);

  function fill(out: GpuBuffer, value: number): void {
    rt.alive('fill');
    const k = rt.kernel('fill', () => ({
      params: linearParams,
      kinds: ['write'],
      code: linearParams.decl() + storage(1, 'write', 'o', 'u32') + mainHeader() + linearParams.lets() + `  if (i >= n) { return; }\n  o[i] = value;\n}\n`,
    }));
    const bits = storedBits(value, out.dtype);
    planLinear(rt, 'fill', out.size, [{ buffer: out, role: 'output' }], (_start, count, [w]) => {
      rt.run(k, { n: count, value: bits }, [w!], rt.grid(count, WG));
    });
  }

  const unaryParams = new Params([['n', 'u32']]);

  function unary(op: UnaryOp, x: GpuBuffer, out: GpuBuffer): void {
    rt.alive(op);
    const t = wgslType(x.dtype);
    const expr = t === 'f32' ? FLOAT_UNARY[op] : INT_UNARY[op];
    if (!expr) throw new TesseraError(op, `is not defined for ${x.dtype} tensors`);
    const k = rt.kernel(`unary:${op}:${t}`, () => ({
      params: unaryParams,
      kinds: ['read', 'write'],
      code:
        NUMERIC +
        SIGMOID +
        unaryParams.decl() +
        storage(1, 'read', 'xs', t) +
        storage(2, 'write', 'o', t) +
        mainHeader() +
        unaryParams.lets() +
        `  if (i >= n) { return; }\n  let x = xs[i];\n  o[i] = ${expr};\n}\n`,
    }));
    const n = Math.min(x.size, out.size);
    planLinear(
      rt,
      op,
      n,
      [
        { buffer: x, role: 'input' },
        { buffer: out, role: 'output' },
      ],
      (_start, count, windows) => rt.run(k, { n: count }, windows, rt.grid(count, WG)),
    );
  }

  function binary(op: BinaryOp, a: GpuBuffer, b: GpuBuffer, out: GpuBuffer, p: BinaryParams): void {
    rt.alive(op);
    const t = wgslType(out.dtype);
    const expr = t === 'f32' ? FLOAT_BINARY[op] : INT_BINARY[op];
    if (!expr) throw new TesseraError(op, `unknown binary op`);
    planStrided(
      rt,
      op,
      p.outShape,
      [
        { buffer: a, strides: p.aStrides, offset: 0, role: 'first operand' },
        { buffer: b, strides: p.bStrides, offset: 0, role: 'second operand' },
        { buffer: out, strides: contiguousStrides(p.outShape), offset: 0, role: 'output' },
      ],
      (piece) => {
        const rank = piece.shape.length;
        const params = stridedParams(rank, 3);
        const k = rt.kernel(`binary:${op}:${t}:r${rank}`, () => ({
          params,
          kinds: ['read', 'read', 'write'],
          code:
            NUMERIC +
            POW +
            params.decl() +
            storage(1, 'read', 'av', t) +
            storage(2, 'read', 'bv', t) +
            storage(3, 'write', 'o', t) +
            mainHeader() +
            `  if (i >= ${params.get('total')}) { return; }\n` +
            stridedIndex(params, rank, 3) +
            `  let a = av[idx0];\n  let b = bv[idx1];\n  o[idx2] = ${expr};\n}\n`,
        }));
        rt.run(
          k,
          stridedValues(piece),
          piece.windows,
          rt.grid(
            piece.shape.reduce((x, y) => x * y, 1),
            WG,
          ),
        );
      },
    );
  }

  function copy(x: GpuBuffer, out: GpuBuffer, p: CopyParams): void {
    rt.alive('copy');
    const from = wgslType(x.dtype);
    const to = wgslType(out.dtype);
    // Same dtype: move raw bits (NaN payloads and -0 included). Casts follow JavaScript's typed-array stores.
    const inT = from === to ? 'u32' : from;
    const outT = from === to ? 'u32' : to;
    const conv = from === to ? 'v' : from === 'f32' ? 'js_to_int32(v)' : 'js_to_f32(v)';
    if (p.shape.length > 0 && p.shape.some((d) => d === 0)) return;
    planStrided(
      rt,
      'copy',
      p.shape,
      [
        { buffer: x, strides: p.inStrides, offset: p.inOffset, role: 'source' },
        { buffer: out, strides: p.outStrides, offset: p.outOffset, role: 'destination' },
      ],
      (piece) => {
        const rank = piece.shape.length;
        const params = stridedParams(rank, 2);
        const k = rt.kernel(`copy:${inT}:${outT}:r${rank}`, () => ({
          params,
          kinds: ['read', 'write'],
          code:
            NUMERIC +
            params.decl() +
            storage(1, 'read', 'xs', inT) +
            storage(2, 'write', 'o', outT) +
            mainHeader() +
            `  if (i >= ${params.get('total')}) { return; }\n` +
            stridedIndex(params, rank, 2) +
            `  let v = xs[idx0];\n  o[idx1] = ${conv};\n}\n`,
        }));
        rt.run(
          k,
          stridedValues(piece),
          piece.windows,
          rt.grid(
            piece.shape.reduce((a, b) => a * b, 1),
            WG,
          ),
        );
      },
    );
  }

  return { fill, unary, binary, copy };
}
