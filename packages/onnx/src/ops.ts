/**
 * The operators the interpreter runs, each compiled once per node: attributes are read and checked when the
 * model loads (an unsupported one is an error then, naming the node), and `run` maps input values to outputs
 * with tessera's public ops. Values are device tensors, or `HostInts` — small integer tensors (shapes, indices,
 * axes) that shape computations produce and consume on the host.
 */
import { F, TesseraError, Tensor, tensor, type CreateOptions } from '@tessera/tensor';
import { attr, attrFloat, attrInt, attrInts, attrString } from './attributes.js';
import { onnxTensorToFloat32, onnxTensorToInts } from './tensor-data.js';
import { DTYPE, describeNode, dtypeName, type OnnxNode } from './types.js';

/** A host integer tensor (row-major). */
export class HostInts {
  constructor(
    readonly dims: number[],
    readonly data: number[],
  ) {}
  get size(): number {
    return this.data.length;
  }
  toTensor(opts: CreateOptions = {}): Tensor {
    return tensor(Int32Array.from(this.data), this.dims, { ...opts, dtype: 'int32' });
  }
}

export type Value = Tensor | HostInts;

export interface CompiledNode {
  label: string;
  run(inputs: (Value | undefined)[]): Value[];
  /** A Constant node's value, folded at load time. */
  constant?: Value;
}

export interface CompileContext {
  opset: number;
  op: string;
  /** The value of an initializer (or an already folded constant), or null when it is computed at run time. */
  constant(name: string): Value | null;
  /** The host values of a constant (initializer or Constant node, float or integer), or null. */
  constantHost(name: string): ArrayLike<number> | null;
  backend: CreateOptions;
}

export const SUPPORTED_OPS = [
  'Add',
  'AveragePool',
  'BatchNormalization',
  'Cast',
  'Clip',
  'Concat',
  'Constant',
  'ConstantOfShape',
  'Conv',
  'Div',
  'Dropout',
  'Flatten',
  'Gather',
  'Gemm',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Identity',
  'LRN',
  'LogSoftmax',
  'MatMul',
  'MaxPool',
  'Mul',
  'Pad',
  'Pow',
  'ReduceMean',
  'Relu',
  'Reshape',
  'Shape',
  'Sigmoid',
  'Slice',
  'Softmax',
  'Sqrt',
  'Squeeze',
  'Sub',
  'Tanh',
  'Transpose',
  'Unsqueeze',
];

function prod(a: readonly number[]): number {
  return a.reduce((x, y) => x * y, 1);
}

export function compileNode(n: OnnxNode, index: number, ctx: CompileContext): CompiledNode {
  const label = describeNode(n, index);
  const { op, opset } = ctx;
  const fail = (msg: string): never => {
    throw new TesseraError(op, `${label}: ${msg}`);
  };
  const known = (names: string[]): void => {
    for (const a of n.attributes.keys())
      if (!names.includes(a)) fail(`attribute '${a}' is not supported (${n.opType} supports ${names.length > 0 ? names.join(', ') : 'no attributes'})`);
  };
  const tensorIn = (v: Value | undefined, i: number): Tensor => {
    if (v === undefined) return fail(`input ${i} ('${n.inputs[i] ?? ''}') is missing`);
    return v instanceof HostInts ? v.toTensor(ctx.backend) : v;
  };
  const hostIn = (v: Value | undefined, i: number, what: string): HostInts => {
    if (v instanceof HostInts) return v;
    return fail(
      `${what} (input ${i}, '${n.inputs[i] ?? ''}') must be an integer constant or computed from shapes; here it is a float tensor computed at run time`,
    );
  };
  const axisOf = (axis: number, rank: number): number => {
    const a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) fail(`axis ${axis} is out of range for rank ${rank}`);
    return a;
  };
  const out1 = (f: (ins: (Value | undefined)[]) => Value): CompiledNode => ({ label, run: (ins) => [f(ins)] });
  const onlyFirstOutput = (): void => {
    if (n.outputs.slice(1).some((o) => o !== ''))
      fail(
        `only the first output is supported (this node also asks for ${n.outputs
          .slice(1)
          .filter((o) => o !== '')
          .join(', ')})`,
      );
  };

  switch (n.opType) {
    case 'Identity':
      known([]);
      return { label, run: (ins) => [ins[0]!] };
    case 'Dropout': {
      known(['seed', 'ratio']);
      onlyFirstOutput();
      // Inference: identity (opset 12+ training_mode input must be absent or false).
      if (n.inputs[2]) {
        const tm = ctx.constantHost(n.inputs[2]);
        if (!tm || tm[0] !== 0) fail('training_mode must be absent or a constant false (inference only)');
      }
      return { label, run: (ins) => [ins[0]!] };
    }
    case 'Constant': {
      known(['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);
      const a = attr(n, 'value');
      let v: Value;
      if (a?.t) {
        const t = a.t;
        if (t.dataType === DTYPE.INT64 || t.dataType === DTYPE.INT32) v = new HostInts(t.dims.slice(), onnxTensorToInts(t, 'Constant value', op));
        else v = tensor(onnxTensorToFloat32(t, 'Constant value', op), t.dims, ctx.backend);
      } else if (attr(n, 'value_float')) v = tensor([attrFloat(n, 'value_float', 0, op)], [], ctx.backend);
      else if (attr(n, 'value_floats')) {
        const fl = attr(n, 'value_floats')!.floats;
        v = tensor(Float32Array.from(fl), [fl.length], ctx.backend);
      } else if (attr(n, 'value_int')) v = new HostInts([], [attrInt(n, 'value_int', 0, op)]);
      else if (attr(n, 'value_ints')) {
        const is = attrInts(n, 'value_ints', []);
        v = new HostInts([is.length], is);
      } else return fail('has no value attribute tessera reads (value, value_float(s), value_int(s))');
      return { label, run: () => [v], constant: v };
    }
    case 'Relu':
      known([]);
      return out1((ins) => F.relu(tensorIn(ins[0], 0)));
    case 'Sigmoid':
      known([]);
      return out1((ins) => F.sigmoid(tensorIn(ins[0], 0)));
    case 'Tanh':
      known([]);
      return out1((ins) => F.tanh(tensorIn(ins[0], 0)));
    case 'Sqrt':
      known([]);
      return out1((ins) => tensorIn(ins[0], 0).sqrt());
    case 'Clip': {
      if (opset < 11) {
        known(['min', 'max']);
        const lo = attrFloat(n, 'min', -3.4028234663852886e38, op);
        const hi = attrFloat(n, 'max', 3.4028234663852886e38, op);
        return out1((ins) => tensorIn(ins[0], 0).clamp(lo, hi));
      }
      known([]);
      // min / max as inputs (opset 11+): constants in every exporter we know of; read once, at load time.
      const bound = (i: number, what: string): number | undefined => {
        const name = n.inputs[i];
        if (name === undefined || name === '') return undefined;
        const v = ctx.constantHost(name);
        if (!v) return fail(`${what} (input ${i}, '${name}') must be a constant (an initializer or a Constant node)`);
        if (v.length !== 1) fail(`${what} must be a scalar, got ${v.length} values`);
        return v[0];
      };
      const lo = bound(1, 'min');
      const hi = bound(2, 'max');
      return out1((ins) => tensorIn(ins[0], 0).clamp(lo, hi));
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Pow': {
      known([]);
      const f = {
        Add: (a: number, b: number) => a + b,
        Sub: (a: number, b: number) => a - b,
        Mul: (a: number, b: number) => a * b,
        Div: (a: number, b: number) => Math.trunc(a / b),
        Pow: (a: number, b: number) => a ** b,
      }[n.opType];
      return out1((ins) => {
        const [a, b] = ins;
        if (a instanceof HostInts && b instanceof HostInts) return hostBinary(a, b, f, fail);
        const x = tensorIn(a, 0);
        const y = tensorIn(b, 1);
        switch (n.opType) {
          case 'Add':
            return x.add(y);
          case 'Sub':
            return x.sub(y);
          case 'Mul':
            return x.mul(y);
          case 'Div':
            return x.div(y);
          default:
            return x.pow(y);
        }
      });
    }
    case 'MatMul':
      known([]);
      return out1((ins) => tensorIn(ins[0], 0).matmul(tensorIn(ins[1], 1)));
    case 'Gemm': {
      known(['alpha', 'beta', 'transA', 'transB']);
      const alpha = attrFloat(n, 'alpha', 1, op);
      const beta = attrFloat(n, 'beta', 1, op);
      const transA = attrInt(n, 'transA', 0, op) !== 0;
      const transB = attrInt(n, 'transB', 0, op) !== 0;
      return out1((ins) => {
        let a = tensorIn(ins[0], 0);
        const b = tensorIn(ins[1], 1);
        const c = ins[2] === undefined ? null : tensorIn(ins[2], 2);
        if (a.rank !== 2 || b.rank !== 2) fail(`A and B must be 2-D, got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]`);
        if (transA) a = a.transpose(0, 1);
        // F.linear(x, W) computes x·Wᵀ: the common transB=1 case needs no transpose.
        let y = transB ? F.linear(a, b) : a.matmul(b);
        if (alpha !== 1) y = y.mul(alpha);
        if (c && beta !== 0) y = y.add(beta === 1 ? c : c.mul(beta));
        return y;
      });
    }
    case 'Conv': {
      known(['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
      const autoPad = attrString(n, 'auto_pad', 'NOTSET');
      const strides = attrInts(n, 'strides', [1, 1]);
      const dil = attrInts(n, 'dilations', [1, 1]);
      const group = attrInt(n, 'group', 1, op);
      const kernel = attrInts(n, 'kernel_shape', null);
      const pads = attrInts(n, 'pads', [0, 0, 0, 0]);
      if (strides.length !== 2 || dil.length !== 2 || pads.length !== 4 || (kernel && kernel.length !== 2))
        fail('only 2-D convolutions (NCHW, 4-D weights) are supported');
      if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) fail(`auto_pad '${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
      return out1((ins) => {
        const x = tensorIn(ins[0], 0);
        const w = tensorIn(ins[1], 1);
        const b = ins[2] === undefined ? null : tensorIn(ins[2], 2);
        if (x.rank !== 4 || w.rank !== 4) fail(`only 2-D convolutions are supported: input [${x.shape.join(', ')}], weight [${w.shape.join(', ')}]`);
        const k = [w.shape[2]!, w.shape[3]!];
        if (kernel && (kernel[0] !== k[0] || kernel[1] !== k[1])) fail(`kernel_shape [${kernel.join(', ')}] does not match the weight's [${k.join(', ')}]`);
        const p =
          autoPad === 'NOTSET' ? pads : autoPad === 'VALID' ? [0, 0, 0, 0] : samePads([x.shape[2]!, x.shape[3]!], k, strides, dil, autoPad === 'SAME_UPPER');
        return convWithPads(x, w, b, p, strides, dil, group);
      });
    }
    case 'MaxPool':
    case 'AveragePool': {
      const isMax = n.opType === 'MaxPool';
      known(
        isMax
          ? ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides']
          : ['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides'],
      );
      onlyFirstOutput();
      const autoPad = attrString(n, 'auto_pad', 'NOTSET');
      if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(`auto_pad '${autoPad}' is not supported (supported: NOTSET, VALID)`);
      const kernel = attrInts(n, 'kernel_shape', null) ?? [];
      if (kernel.length !== 2) fail('only 2-D pooling with a kernel_shape of two values is supported');
      const strides = attrInts(n, 'strides', [1, 1]);
      const pads = autoPad === 'VALID' ? [0, 0, 0, 0] : attrInts(n, 'pads', [0, 0, 0, 0]);
      const ceil = attrInt(n, 'ceil_mode', 0, op) !== 0;
      if (isMax && attrInts(n, 'dilations', [1, 1]).some((d) => d !== 1)) fail('dilations other than 1 are not supported');
      if (isMax && attrInt(n, 'storage_order', 0, op) !== 0) fail('storage_order 1 is not supported');
      const countPad = attrInt(n, 'count_include_pad', 0, op) !== 0;
      const sym = pads[0] === pads[2] && pads[1] === pads[3];
      if (!isMax && !sym && !countPad) fail(`asymmetric pads [${pads.join(', ')}] with count_include_pad=0 are not supported`);
      return out1((ins) => {
        let x = tensorIn(ins[0], 0);
        if (x.rank !== 4) fail(`only 4-D (NCHW) inputs are supported, got [${x.shape.join(', ')}]`);
        let padding: [number, number] = [pads[0]!, pads[1]!];
        if (!sym) {
          // Asymmetric: pad explicitly (−∞ for max, 0 for average with count_include_pad) and pool unpadded.
          x = F.pad(x, [pads[1]!, pads[3]!, pads[0]!, pads[2]!], isMax ? -Infinity : 0);
          padding = [0, 0];
        }
        const o = { kernelSize: [kernel[0]!, kernel[1]!] as [number, number], stride: [strides[0]!, strides[1]!] as [number, number], padding, ceilMode: ceil };
        return isMax ? F.maxPool2d(x, o) : F.avgPool2d(x, { ...o, countIncludePad: countPad });
      });
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      known([]);
      return out1((ins) => {
        const x = tensorIn(ins[0], 0);
        const dims = Array.from({ length: x.rank - 2 }, (_, i) => i + 2);
        return n.opType === 'GlobalAveragePool' ? x.mean(dims, true) : x.max(dims, true);
      });
    case 'LRN': {
      known(['alpha', 'beta', 'bias', 'size']);
      const size = attrInt(n, 'size', 0, op);
      if (size <= 0) fail('size must be a positive integer');
      if (size % 2 === 0) fail(`size ${size} is even; ONNX and PyTorch centre even windows differently, so only odd sizes run exactly`);
      const alpha = attrFloat(n, 'alpha', 1e-4, op);
      const beta = attrFloat(n, 'beta', 0.75, op);
      const k = attrFloat(n, 'bias', 1, op);
      return out1((ins) => F.localResponseNorm(tensorIn(ins[0], 0), size, { alpha, beta, k }));
    }
    case 'BatchNormalization': {
      known(['epsilon', 'momentum', 'spatial', 'training_mode']);
      onlyFirstOutput();
      if (attrInt(n, 'training_mode', 0, op) !== 0) fail('training_mode=1 is not supported (inference only)');
      if (attrInt(n, 'spatial', 1, op) !== 1) fail('spatial=0 is not supported');
      const eps = attrFloat(n, 'epsilon', 1e-5, op);
      return out1((ins) =>
        F.batchNorm(tensorIn(ins[0], 0), tensorIn(ins[3], 3), tensorIn(ins[4], 4), tensorIn(ins[1], 1), tensorIn(ins[2], 2), { training: false, eps }),
      );
    }
    case 'Softmax':
    case 'LogSoftmax': {
      known(['axis']);
      const axis = attrInt(n, 'axis', opset >= 13 ? -1 : 1, op);
      const fn = n.opType === 'Softmax' ? F.softmax : F.logSoftmax;
      return out1((ins) => {
        const x = tensorIn(ins[0], 0);
        const a = axisOf(axis, x.rank);
        if (opset >= 13) return fn(x, a);
        // Before opset 13: the input is coerced to 2-D [prod(dims < axis), prod(dims ≥ axis)].
        const y = fn(x.reshape([prod(x.shape.slice(0, a)), prod(x.shape.slice(a))]), 1);
        return y.reshape(x.shape);
      });
    }
    case 'Flatten': {
      known(['axis']);
      const axis = attrInt(n, 'axis', 1, op);
      return out1((ins) => {
        const x = tensorIn(ins[0], 0);
        const a = axis < 0 ? axis + x.rank : axis;
        if (a < 0 || a > x.rank) fail(`axis ${axis} is out of range for rank ${x.rank}`);
        return x.reshape([prod(x.shape.slice(0, a)), prod(x.shape.slice(a))]);
      });
    }
    case 'Reshape': {
      known(opset >= 14 ? ['allowzero'] : opset < 5 ? ['shape'] : []);
      const allowZero = attrInt(n, 'allowzero', 0, op) !== 0;
      return out1((ins) => {
        const x = ins[0];
        const target = hostIn(ins[1], 1, 'the target shape').data;
        const inShape = x instanceof HostInts ? x.dims : tensorIn(x, 0).shape;
        const shape = target.map((d, i) =>
          d === 0 && !allowZero ? (inShape[i] ?? fail(`target dim ${i} is 0 (copy) but the input has rank ${inShape.length}`)) : d,
        );
        const known1 = shape.filter((d) => d !== -1);
        if (shape.length - known1.length > 1) fail(`the target shape [${target.join(', ')}] has more than one -1`);
        const total = prod(inShape);
        if (shape.includes(-1)) {
          const rest = prod(known1);
          if (rest === 0 || total % rest !== 0) fail(`cannot reshape [${inShape.join(', ')}] to [${target.join(', ')}]`);
          shape[shape.indexOf(-1)] = total / rest;
        }
        if (prod(shape) !== total) fail(`cannot reshape [${inShape.join(', ')}] (${total} elements) to [${shape.join(', ')}]`);
        return x instanceof HostInts ? new HostInts(shape, x.data) : tensorIn(x, 0).reshape(shape);
      });
    }
    case 'Transpose': {
      known(['perm']);
      const perm = attrInts(n, 'perm', null);
      return out1((ins) => {
        const v = ins[0];
        const rank = v instanceof HostInts ? v.dims.length : tensorIn(v, 0).rank;
        const p = perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
        if (p.length !== rank || [...p].sort((a, b) => a - b).some((a, i) => a !== i)) fail(`perm [${p.join(', ')}] is not a permutation of ${rank} axes`);
        if (v instanceof HostInts) return hostTranspose(v, p);
        return tensorIn(v, 0).permute(p);
      });
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const fromInput = opset >= 13;
      known(fromInput ? [] : ['axes']);
      const attrAxes = fromInput ? null : attrInts(n, 'axes', null);
      if (!fromInput && n.opType === 'Unsqueeze' && !attrAxes) fail('needs the axes attribute');
      return out1((ins) => {
        const x = ins[0];
        const axesIn = fromInput && ins[1] !== undefined ? hostIn(ins[1], 1, 'axes').data : attrAxes;
        if (n.opType === 'Unsqueeze' && !axesIn) fail('needs axes');
        const inShape = x instanceof HostInts ? x.dims : tensorIn(x, 0).shape;
        let shape: number[];
        if (n.opType === 'Squeeze') {
          const axes = axesIn ? axesIn.map((a) => axisOf(a, inShape.length)) : inShape.flatMap((d, i) => (d === 1 ? [i] : []));
          for (const a of axes) if (inShape[a] !== 1) fail(`cannot squeeze axis ${a} of size ${inShape[a]}`);
          shape = inShape.filter((_, i) => !axes.includes(i));
        } else {
          const r = inShape.length + axesIn!.length;
          const axes = axesIn!.map((a) => axisOf(a, r));
          shape = [];
          let j = 0;
          for (let i = 0; i < r; i++) shape.push(axes.includes(i) ? 1 : inShape[j++]!);
        }
        return x instanceof HostInts ? new HostInts(shape, x.data) : tensorIn(x, 0).reshape(shape);
      });
    }
    case 'Concat': {
      known(['axis']);
      const axis = attrInt(n, 'axis', 0, op);
      return out1((ins) => {
        if (ins.every((v) => v instanceof HostInts)) {
          const hs = ins as HostInts[];
          if (hs.some((h) => h.dims.length !== 1)) fail('concatenating integer (shape) tensors is supported for 1-D ones only');
          const data = hs.flatMap((h) => h.data);
          return new HostInts([data.length], data);
        }
        const ts = ins.map((v, i) => tensorIn(v, i));
        return F.cat(ts, axisOf(axis, ts[0]!.rank));
      });
    }
    case 'Shape': {
      known(opset >= 15 ? ['start', 'end'] : []);
      const start = attrInt(n, 'start', 0, op);
      const endAttr = attr(n, 'end') ? attrInt(n, 'end', 0, op) : null;
      return out1((ins) => {
        const x = ins[0];
        const s = x instanceof HostInts ? x.dims : tensorIn(x, 0).shape;
        const r = s.length;
        const clampI = (v: number): number => Math.min(r, Math.max(0, v < 0 ? v + r : v));
        const d = s.slice(clampI(start), endAttr === null ? r : clampI(endAttr));
        return new HostInts([d.length], d);
      });
    }
    case 'Gather': {
      known(['axis']);
      const axis = attrInt(n, 'axis', 0, op);
      return out1((ins) => {
        const idx = hostIn(ins[1], 1, 'the indices');
        const x = ins[0];
        if (x instanceof HostInts) {
          if (x.dims.length !== 1 || axis !== 0) fail('gathering from an integer (shape) tensor is supported for 1-D ones along axis 0');
          const data = idx.data.map((i) => {
            const j = i < 0 ? i + x.size : i;
            if (j < 0 || j >= x.size) fail(`index ${i} is out of range for ${x.size} elements`);
            return x.data[j]!;
          });
          return new HostInts(idx.dims.slice(), data);
        }
        const t = tensorIn(x, 0);
        const a = axisOf(axis, t.rank);
        const len = t.shape[a]!;
        const flat = idx.data.map((i) => {
          const j = i < 0 ? i + len : i;
          if (j < 0 || j >= len) fail(`index ${i} is out of range for axis ${a} of size ${len}`);
          return j;
        });
        const index = tensor(Int32Array.from(flat), [flat.length], { ...ctx.backend, dtype: 'int32' });
        const sel = t.indexSelect(a, index);
        if (!sel.requiresGrad) index.dispose(); // its backward reads the indices
        return sel.reshape([...t.shape.slice(0, a), ...idx.dims, ...t.shape.slice(a + 1)]);
      });
    }
    case 'ConstantOfShape': {
      known(['value']);
      const a = attr(n, 'value');
      const t = a?.t ?? null;
      const isInt = t !== null && (t.dataType === DTYPE.INT64 || t.dataType === DTYPE.INT32);
      const fillv = t === null ? 0 : isInt ? onnxTensorToInts(t, 'value', op)[0]! : onnxTensorToFloat32(t, 'value', op)[0]!;
      return out1((ins) => {
        const shape = hostIn(ins[0], 0, 'the shape').data.slice();
        if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`shape [${shape.join(', ')}] is not a shape`);
        const count = prod(shape);
        if (isInt) {
          if (count > 1 << 20) fail(`an integer tensor of ${count} elements is larger than shape arithmetic needs`);
          return new HostInts(shape, new Array<number>(count).fill(fillv));
        }
        return tensor(new Float32Array(count).fill(fillv), shape, ctx.backend);
      });
    }
    case 'Slice': {
      if (opset < 10) {
        known(['starts', 'ends', 'axes']);
      } else known([]);
      return out1((ins) => {
        const v = ins[0];
        const shape = v instanceof HostInts ? v.dims : tensorIn(v, 0).shape;
        const r = shape.length;
        const starts = opset < 10 ? attrInts(n, 'starts', []) : hostIn(ins[1], 1, 'starts').data;
        const ends = opset < 10 ? attrInts(n, 'ends', []) : hostIn(ins[2], 2, 'ends').data;
        const axes = (opset < 10 ? attrInts(n, 'axes', null) : ins[3] === undefined ? null : hostIn(ins[3], 3, 'axes').data) ?? starts.map((_, i) => i);
        const steps = opset < 10 || ins[4] === undefined ? starts.map(() => 1) : hostIn(ins[4], 4, 'steps').data;
        if (starts.length !== ends.length || axes.length !== starts.length || steps.length !== starts.length)
          fail('starts, ends, axes and steps must have the same length');
        const ranges: [number, number, number][] = shape.map((d) => [0, d, 1]);
        axes.forEach((a0, j) => {
          const a = axisOf(a0, r);
          const d = shape[a]!;
          const step = steps[j]!;
          if (step === 0) fail('a step of 0');
          const norm = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x < 0 ? x + d : x));
          if (step > 0) ranges[a] = [norm(starts[j]!, 0, d), norm(ends[j]!, 0, d), step];
          else ranges[a] = [norm(starts[j]!, -1, d - 1), norm(ends[j]!, -1, d - 1), step];
        });
        if (v instanceof HostInts) return hostSlice(v, ranges);
        if (ranges.some((q) => q[2] < 0)) fail('negative steps are supported on integer (shape) tensors only');
        return tensorIn(v, 0).slice(ranges.map(([a, b, st]) => [a, Math.max(a, b), st] as const));
      });
    }
    case 'Cast': {
      known(['to', 'saturate']);
      const to = attrInt(n, 'to', 0, op);
      const toFloat = to === DTYPE.FLOAT || to === DTYPE.DOUBLE || to === DTYPE.FLOAT16;
      const toInt = to === DTYPE.INT64 || to === DTYPE.INT32;
      if (!toFloat && !toInt) fail(`casting to ${dtypeName(to)} is not supported (supported: FLOAT, DOUBLE, FLOAT16 as float32; INT64, INT32 as int32)`);
      return out1((ins) => {
        const x = ins[0];
        if (x instanceof HostInts) return toInt ? x : x.toTensor(ctx.backend).cast('float32');
        const t = tensorIn(x, 0);
        return t.cast(toInt ? 'int32' : 'float32');
      });
    }
    case 'Pad': {
      known(opset >= 11 ? ['mode'] : ['mode', 'pads', 'value']);
      const mode = attrString(n, 'mode', 'constant');
      if (mode !== 'constant') fail(`mode '${mode}' is not supported (supported: constant)`);
      if (opset >= 18 && n.inputs[3]) fail('the axes input is not supported');
      const attrPads = opset < 11 ? attrInts(n, 'pads', []) : null;
      let value = opset < 11 ? attrFloat(n, 'value', 0, op) : 0;
      if (opset >= 11 && n.inputs[2]) {
        const v = ctx.constantHost(n.inputs[2]);
        if (!v || v.length !== 1) fail(`constant_value (input 2) must be a scalar constant`);
        value = v![0]!;
      }
      return out1((ins) => {
        const x = tensorIn(ins[0], 0);
        const pads = attrPads ?? hostIn(ins[1], 1, 'pads').data;
        const r = x.rank;
        if (pads.length !== 2 * r) fail(`pads has ${pads.length} values for a rank-${r} input (needs ${2 * r})`);
        if (pads.some((p) => p < 0)) fail('negative pads (cropping) are not supported');
        // ONNX: [x1_begin, x2_begin, …, x1_end, x2_end, …]; F.pad: (before, after) pairs from the last dim.
        const tp: number[] = [];
        for (let d = r - 1; d >= 0; d--) tp.push(pads[d]!, pads[d + r]!);
        return F.pad(x, tp, value);
      });
    }
    case 'ReduceMean': {
      const fromInput = opset >= 18;
      known(fromInput ? ['keepdims', 'noop_with_empty_axes'] : ['axes', 'keepdims']);
      const keep = attrInt(n, 'keepdims', 1, op) !== 0;
      const attrAxes = fromInput ? null : attrInts(n, 'axes', null);
      return out1((ins) => {
        const x = tensorIn(ins[0], 0);
        const axes = (fromInput && ins[1] !== undefined ? hostIn(ins[1], 1, 'axes').data : attrAxes) ?? x.shape.map((_, i) => i);
        return x.mean(
          axes.map((a) => axisOf(a, x.rank)),
          keep,
        );
      });
    }
    default:
      return fail(`operator ${n.opType} is not supported (supported: ${SUPPORTED_OPS.join(', ')})`);
  }
}

function hostTranspose(x: HostInts, perm: number[]): HostInts {
  const dims = perm.map((p) => x.dims[p]!);
  const inStrides = stridesOf(x.dims);
  const out: number[] = [];
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < x.size; i++) {
    let off = 0;
    for (let d = 0; d < dims.length; d++) off += idx[d]! * inStrides[perm[d]!]!;
    out.push(x.data[off]!);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) break;
      idx[d] = 0;
    }
  }
  return new HostInts(dims, out);
}

function hostSlice(x: HostInts, ranges: [number, number, number][]): HostInts {
  const axisIdx = ranges.map(([a, b, st]) => {
    const out: number[] = [];
    if (st > 0) for (let i = a; i < b; i += st) out.push(i);
    else for (let i = a; i > b; i += st) out.push(i);
    return out;
  });
  const dims = axisIdx.map((l) => l.length);
  const strides = stridesOf(x.dims);
  const out: number[] = [];
  const total = prod(dims);
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < total; i++) {
    let off = 0;
    for (let d = 0; d < dims.length; d++) off += axisIdx[d]![idx[d]!]! * strides[d]!;
    out.push(x.data[off]!);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) break;
      idx[d] = 0;
    }
  }
  return new HostInts(dims, out);
}

function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

function hostBinary(a: HostInts, b: HostInts, f: (x: number, y: number) => number, fail: (m: string) => never): HostInts {
  if (a.size === b.size)
    return new HostInts(
      a.dims.length >= b.dims.length ? a.dims : b.dims,
      a.data.map((x, i) => f(x, b.data[i]!)),
    );
  if (b.size === 1)
    return new HostInts(
      a.dims,
      a.data.map((x) => f(x, b.data[0]!)),
    );
  if (a.size === 1)
    return new HostInts(
      b.dims,
      b.data.map((y) => f(a.data[0]!, y)),
    );
  return fail(`integer (shape) arithmetic on [${a.dims.join(', ')}] and [${b.dims.join(', ')}] is supported only for equal sizes or a scalar`);
}

/** auto_pad SAME_UPPER / SAME_LOWER: the total padding that keeps ceil(in / stride), split with the odd one after (upper) or before (lower). */
function samePads(inHW: number[], k: number[], s: number[], d: number[], upper: boolean): number[] {
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(inHW[i]! / s[i]!);
    const total = Math.max(0, (out - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - inHW[i]!);
    const small = Math.floor(total / 2);
    before.push(upper ? small : total - small);
    after.push(upper ? total - small : small);
  }
  return [before[0]!, before[1]!, after[0]!, after[1]!];
}

function convWithPads(x: Tensor, w: Tensor, b: Tensor | null, pads: number[], strides: number[], dil: number[], group: number): Tensor {
  const [t, l, bo, r] = pads as [number, number, number, number];
  let input = x;
  let padding: [number, number] = [t, l];
  if (t !== bo || l !== r) {
    input = F.pad(x, [l, r, t, bo]);
    padding = [0, 0];
  }
  return F.conv2d(input, w, b, { stride: [strides[0]!, strides[1]!], padding, dilation: [dil[0]!, dil[1]!], groups: group });
}
