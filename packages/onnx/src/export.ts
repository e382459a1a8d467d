/**
 * `exportOnnx(module, inputShape)`: a tessera Module as an ONNX model (opset 13, float32), readable by
 * onnxruntime and by `loadOnnxModel`.
 *
 * Design: trace-based, at two levels. The module runs one forward (in eval mode, on a zero input of `inputShape`)
 * with every known leaf layer instrumented — Conv2d, Linear, BatchNorm1d/2d, MaxPool2d, AvgPool2d,
 * AdaptiveAvgPool2d, LocalResponseNorm, ReLU, ReLU6, Hardtanh, Tanh, Sigmoid, Dropout, Flatten — so each call is
 * recorded with the layer's own settings (stride, padding, eps, …). What a model does between layers (the residual
 * `add`, Fire/Inception's `cat`, `flatten`, `F.adaptiveAvgPool2d`, `relu`) is read back from the autograd record of
 * the output's history, whose op names and inputs are exact. The graph is then emitted from the output back to
 * the input; parameters and buffers become initializers named by their state-dict keys (`features.0.weight`), so
 * `loadOnnxModel` of the result has the module's own state-dict keys. An operation that neither level can
 * describe (a tensor op with a plain-number operand, a functional conv with unknown settings) is a TesseraError
 * naming it; nothing is approximated.
 */
import { TesseraError, Tensor, enableGrad, fmtShapeOf, keep, nn, tidy, zeros } from './tensor-api.js';
import { ProtoWriter } from './writer.js';

export interface ExportOnnxOptions {
  /** Graph input / output names (default 'input' / 'output'). */
  inputName?: string;
  outputName?: string;
  /** The graph's name (default: the module's class name). */
  graphName?: string;
}

const OP = 'exportOnnx';
const OPSET = 13;
const FLOAT = 1;
const INT64 = 7;

interface NodeSpec {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: [string, number | number[] | { f: number } | { scalar: number }][];
}

interface LayerCall {
  m: nn.Module;
  path: string;
  x: Tensor;
}

/** Leaf layers the exporter records (containers are traced through). */
const LEAVES: (abstract new (...args: never[]) => nn.Module)[] = [
  nn.Conv2d,
  nn.Linear,
  nn.BatchNorm,
  nn.MaxPool2d,
  nn.AvgPool2d,
  nn.AdaptiveAvgPool2d,
  nn.LocalResponseNorm,
  nn.ReLU,
  nn.ReLU6,
  nn.Hardtanh,
  nn.Tanh,
  nn.Sigmoid,
  nn.Dropout,
  nn.Flatten,
];

/** Serialises `module` (called on inputs of `inputShape`) as an ONNX ModelProto. */
export async function exportOnnx(module: nn.Module, inputShape: readonly number[], opts: ExportOnnxOptions = {}): Promise<Uint8Array> {
  if (!(module instanceof nn.Module)) throw new TesseraError(OP, 'expects an nn.Module');
  if (!Array.isArray(inputShape) || inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new TesseraError(OP, `inputShape must be positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'output';
  const names = new Map<Tensor, string>();
  for (const [k, t] of module.namedParameters()) if (!names.has(t)) names.set(t, k);
  for (const [k, t] of module.namedBuffers()) if (!names.has(t)) names.set(t, k);
  const paths = new Map<nn.Module, string>();
  for (const [k, m] of module.namedModules()) if (!paths.has(m)) paths.set(m, k);

  const nodes: NodeSpec[] = [];
  const initializers = new Map<string, Tensor>(); // name → tensor (parameters, buffers, constants)
  const intInits = new Map<string, number[]>(); // name → int64 values
  const owned: Tensor[] = []; // constants made here, disposed at the end
  let outShape: number[] = [];
  const wasTraining = module.training;
  const patched: nn.Module[] = [];
  try {
    module.eval();
    tidy(() => {
      const calls = new Map<Tensor, LayerCall>();
      for (const m of module.modules()) {
        if (!LEAVES.some((c) => m instanceof c)) continue;
        const orig = m.forward.bind(m);
        Object.defineProperty(m, 'forward', {
          configurable: true,
          writable: true,
          value: (x: Tensor) => {
            const y = orig(x);
            if (y !== x && !calls.has(y)) calls.set(y, { m, path: paths.get(m) ?? '', x });
            return y;
          },
        });
        patched.push(m);
      }
      const x = zeros(inputShape.slice(), { requiresGrad: true });
      const y = enableGrad(() => module.forward(x));
      if (!(y instanceof Tensor)) throw new TesseraError(OP, 'the module did not return a Tensor');
      outShape = y.shape.slice();
      const emitted = new Map<Tensor, string>();
      let counter = 0;
      const fresh = (base: string): string => `${base}_${counter++}`;
      const initializer = (t: Tensor): string => {
        const known = emitted.get(t);
        if (known) return known;
        let name = names.get(t);
        if (name === undefined) {
          name = fresh('const');
          owned.push(keep(t));
        }
        initializers.set(name, t);
        emitted.set(t, name);
        return name;
      };
      const ints = (vals: number[]): string => {
        const name = fresh('shape');
        intInits.set(name, vals);
        return name;
      };
      // Scalars (Clip bounds) as Constant nodes, as torch writes them: graph structure, not model state.
      const scalar = (v: number): string => node('Constant', '', [], [['value', { scalar: v }]]);
      const node = (opType: string, name: string, inputs: string[], attrs: NodeSpec['attrs'] = []): string => {
        const out = fresh(opType.toLowerCase());
        nodes.push({ opType, name: name === '' ? out : `${name}:${opType}`, inputs, outputs: [out], attrs });
        return out;
      };

      // Iterative post-order emission (deep ResNets would overflow a recursive walk).
      const emit = (root: Tensor): string => {
        const stack: { t: Tensor; ready: boolean }[] = [{ t: root, ready: false }];
        while (stack.length > 0) {
          const top = stack[stack.length - 1]!;
          const t = top.t;
          if (emitted.has(t)) {
            stack.pop();
            continue;
          }
          const deps = t === x ? [] : calls.has(t) ? [calls.get(t)!.x] : names.has(t) ? [] : (t.gradFn?.inputs ?? []);
          if (!top.ready) {
            top.ready = true;
            for (const d of deps) if (!emitted.has(d)) stack.push({ t: d, ready: false });
            continue;
          }
          stack.pop();
          emitted.set(t, emitOne(t));
        }
        return emitted.get(root)!;
      };

      const emitOne = (t: Tensor): string => {
        if (t === x) return inputName;
        const call = calls.get(t);
        if (call) return emitLayer(call, t);
        if (names.has(t) || !t.gradFn) return initializer(t);
        const g = t.gradFn;
        const ins = g.inputs.map((i) => emitted.get(i)!);
        switch (g.name) {
          case 'add':
          case 'sub':
          case 'mul':
          case 'div':
            if (ins.length !== 2)
              throw new TesseraError(
                OP,
                `${g.name} with a plain-number operand (output ${fmtShapeOf(t)}) cannot be exported: its constant is not recorded; use a tensor operand`,
              );
            return node({ add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' }[g.name]!, '', ins);
          case 'relu':
            return node('Relu', '', ins);
          case 'sigmoid':
            return node('Sigmoid', '', ins);
          case 'tanh':
            return node('Tanh', '', ins);
          case 'reshape': {
            const src = g.inputs[0]!;
            if (t.rank === 2 && src.rank >= 2 && t.shape[0] === src.shape[0]) return node('Flatten', '', ins, [['axis', 1]]);
            return node('Reshape', '', [ins[0]!, ints(t.shape.slice())]);
          }
          case 'permute':
          case 'transpose':
            throw new TesseraError(OP, `${g.name} outside a layer cannot be exported (its permutation is not recorded)`);
          case 'cat': {
            const shapes = g.inputs.map((i) => i.shape);
            const axis = t.shape.findIndex(
              (d, a) =>
                shapes.every((s) => s.length === t.rank) &&
                d === shapes.reduce((acc, s) => acc + s[a]!, 0) &&
                shapes.every((s) => s.every((v, j) => j === a || v === t.shape[j])),
            );
            if (axis < 0) throw new TesseraError(OP, `cannot tell the axis of a cat of ${shapes.map((s) => `[${s.join(', ')}]`).join(', ')}`);
            return node('Concat', '', ins, [['axis', axis]]);
          }
          case 'adaptiveAvgPool2d':
            return adaptive(g.inputs[0]!, t, ins[0]!, '');
          default:
            throw new TesseraError(
              OP,
              `the forward applies ${g.name} (output ${fmtShapeOf(t)}) outside the layers exportOnnx records (${LEAVES.map((c) => c.name).join(', ')}) and the tensor ops it reads back (add, sub, mul, div, relu, sigmoid, tanh, reshape/flatten, cat, adaptiveAvgPool2d)`,
            );
        }
      };

      const adaptive = (src: Tensor, out: Tensor, input: string, name: string): string => {
        const [h, w] = [src.shape[2]!, src.shape[3]!];
        const [oh, ow] = [out.shape[2]!, out.shape[3]!];
        if (oh === 1 && ow === 1) return node('GlobalAveragePool', name, [input]);
        if (h % oh !== 0 || w % ow !== 0)
          throw new TesseraError(
            OP,
            `adaptive average pooling from ${h}×${w} to ${oh}×${ow} is not a fixed-window pooling, so ONNX cannot express it; export with an input size whose feature map divides evenly`,
          );
        const k = [h / oh, w / ow];
        return node(
          'AveragePool',
          name,
          [input],
          [
            ['kernel_shape', k],
            ['strides', k],
          ],
        );
      };

      const emitLayer = (c: LayerCall, out: Tensor): string => {
        const m = c.m;
        const input = emitted.get(c.x)!;
        const p = c.path;
        if (m instanceof nn.Conv2d) {
          const ins = [input, initializer(m.weight)];
          if (m.bias) ins.push(initializer(m.bias));
          return node('Conv', p, ins, [
            ['kernel_shape', [...m.kernelSize]],
            ['strides', [...m.stride]],
            ['pads', [m.padding[0], m.padding[1], m.padding[0], m.padding[1]]],
            ['dilations', [...m.dilation]],
            ['group', m.groups],
          ]);
        }
        if (m instanceof nn.Linear) {
          if (c.x.rank !== 2) throw new TesseraError(OP, `Linear '${p}' is applied to a rank-${c.x.rank} input; exportOnnx supports 2-D inputs to Linear`);
          const ins = [input, initializer(m.weight)];
          if (m.bias) ins.push(initializer(m.bias));
          return node('Gemm', p, ins, [['transB', 1]]);
        }
        if (m instanceof nn.BatchNorm) {
          if (!m.running_mean || !m.running_var)
            throw new TesseraError(
              OP,
              `BatchNorm '${p}' has no running statistics (trackRunningStats: false): it normalises by batch statistics even in eval mode, which ONNX inference cannot express`,
            );
          const scale = m.weight ? initializer(m.weight) : initializer(keep(zeros([m.numFeatures]).add(1)));
          const bias = m.bias ? initializer(m.bias) : initializer(keep(zeros([m.numFeatures])));
          return node('BatchNormalization', p, [input, scale, bias, initializer(m.running_mean), initializer(m.running_var)], [['epsilon', { f: m.eps }]]);
        }
        if (m instanceof nn.MaxPool2d || m instanceof nn.AvgPool2d) {
          const attrs: NodeSpec['attrs'] = [
            ['kernel_shape', [...m.kernelSize]],
            ['strides', [...m.stride]],
            ['pads', [m.padding[0], m.padding[1], m.padding[0], m.padding[1]]],
            ['ceil_mode', m.ceilMode ? 1 : 0],
          ];
          if (m instanceof nn.AvgPool2d) attrs.push(['count_include_pad', m.countIncludePad ? 1 : 0]);
          return node(m instanceof nn.MaxPool2d ? 'MaxPool' : 'AveragePool', p, [input], attrs);
        }
        if (m instanceof nn.AdaptiveAvgPool2d) return adaptive(c.x, out, input, p);
        if (m instanceof nn.LocalResponseNorm) {
          return node(
            'LRN',
            p,
            [input],
            [
              ['size', m.size],
              ['alpha', { f: m.alpha }],
              ['beta', { f: m.beta }],
              ['bias', { f: m.k }],
            ],
          );
        }
        if (m instanceof nn.ReLU6) return node('Clip', p, [input, scalar(0), scalar(6)]);
        if (m instanceof nn.Hardtanh) return node('Clip', p, [input, scalar(m.minVal), scalar(m.maxVal)]);
        if (m instanceof nn.ReLU) return node('Relu', p, [input]);
        if (m instanceof nn.Tanh) return node('Tanh', p, [input]);
        if (m instanceof nn.Sigmoid) return node('Sigmoid', p, [input]);
        if (m instanceof nn.Dropout) return node('Identity', p, [input]);
        if (m instanceof nn.Flatten) {
          const r = c.x.rank;
          const start = m.startDim < 0 ? m.startDim + r : m.startDim;
          const end = m.endDim < 0 ? m.endDim + r : m.endDim;
          if (end === r - 1) return node('Flatten', p, [input], [['axis', start]]);
          return node('Reshape', p, [input, ints(out.shape.slice())]);
        }
        throw new TesseraError(OP, `layer '${p}' (${m.constructor.name}) is not exportable`);
      };

      const last = emit(y);
      nodes.push({ opType: 'Identity', name: 'output', inputs: [last], outputs: [outputName], attrs: [] });
    });
  } finally {
    for (const m of patched) delete (m as unknown as { forward?: unknown }).forward;
    module.train(wasTraining);
  }

  // Read every initializer back (all reads issued before any is awaited).
  const entries = [...initializers.entries()];
  const datas = await Promise.all(entries.map(([, t]) => t.data()));
  for (const t of owned) if (!t.isDisposed) t.dispose();

  const w = new ProtoWriter();
  w.int(1, 8); // ir_version 8 (ONNX 1.10+), which opset 13 needs at least 7 of
  w.string(2, 'tessera');
  w.string(3, '0.1.0');
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, OPSET);
  });
  w.message(7, (g) => {
    for (const n of nodes) {
      g.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name);
        nw.string(4, n.opType);
        for (const [name, v] of n.attrs) {
          nw.message(5, (a) => {
            a.string(1, name);
            if (typeof v === 'number') {
              a.int(3, v);
              a.int(20, 2);
            } else if (Array.isArray(v)) {
              for (const x of v) a.int(8, x);
              a.int(20, 7);
            } else if ('scalar' in v) {
              a.message(5, (tw) => {
                tw.int(2, FLOAT);
                tw.bytes(9, leBytes(new Float32Array([v.scalar])));
              });
              a.int(20, 4);
            } else {
              a.float(2, v.f);
              a.int(20, 1);
            }
          });
        }
      });
    }
    g.string(2, opts.graphName ?? module.constructor.name);
    entries.forEach(([name, t], i) => {
      const d = datas[i]!;
      const f = d instanceof Float32Array ? d : Float32Array.from(d);
      g.message(5, (tw) => {
        for (const dim of t.shape) tw.int(1, dim);
        tw.int(2, FLOAT);
        tw.string(8, name);
        tw.bytes(9, leBytes(f));
      });
    });
    for (const [name, vals] of intInits) {
      g.message(5, (tw) => {
        tw.int(1, vals.length);
        tw.int(2, INT64);
        tw.string(8, name);
        const b = new Uint8Array(8 * vals.length);
        const dv = new DataView(b.buffer);
        vals.forEach((v, j) => dv.setBigInt64(8 * j, BigInt(v), true));
        tw.bytes(9, b);
      });
    }
    const valueInfo = (field: number, name: string, shape: readonly number[]): void => {
      g.message(field, (v) => {
        v.string(1, name);
        v.message(2, (tp) =>
          tp.message(1, (tt) => {
            tt.int(1, FLOAT);
            tt.message(2, (sh) => {
              for (const d of shape) sh.message(1, (dm) => dm.int(1, d));
            });
          }),
        );
      });
    };
    valueInfo(11, inputName, inputShape);
    valueInfo(12, outputName, outShape);
  });
  return w.finish().slice();
}

function leBytes(f: Float32Array): Uint8Array {
  const out = new Uint8Array(f.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < f.length; i++) dv.setFloat32(4 * i, f[i]!, true);
  return out;
}
