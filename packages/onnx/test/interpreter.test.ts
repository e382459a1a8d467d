// loadOnnxModel on hand-built graphs: operator semantics the zoo exports do not reach (opset-dependent forms,
// Gemm's alpha/beta/transA, asymmetric pads, Reshape's 0 and -1, Gather, Softmax before opset 13), each checked
// against values computed here by hand, and every refusal (unsupported operator, attribute, opset, domain,
// dangling input) as a TesseraError naming the node. The graphs are written by the small protobuf encoder below,
// independent of src/writer.ts. Real exporters' files are tested in packages/models/test/onnx.test.ts.
import { describe, expect, it } from 'vitest';
import { TesseraError, nn, noGrad, tensor, type Tensor } from '@tessera/tensor';
import { exportOnnx, loadOnnxModel } from '../src/index.js';

// ---- a minimal ONNX encoder -------------------------------------------------------------------------------------

const enc = new TextEncoder();

function varint(v: number): number[] {
  let b = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    const byte = Number(b & 0x7fn);
    b >>= 7n;
    out.push(b > 0n ? byte | 0x80 : byte);
  } while (b > 0n);
  return out;
}
const key = (f: number, w: number): number[] => varint(f * 8 + w);
const int = (f: number, v: number): number[] => [...key(f, 0), ...varint(v)];
const bytes = (f: number, b: ArrayLike<number>): number[] => [...key(f, 2), ...varint(b.length), ...Array.from(b)];
const str = (f: number, s: string): number[] => bytes(f, enc.encode(s));
const f32 = (f: number, v: number): number[] => [...key(f, 5), ...new Uint8Array(new Float32Array([v]).buffer)];

type AttrValue = number | number[] | { f: number } | { s: string } | { t: number[] };

function attribute(name: string, v: AttrValue): number[] {
  if (typeof v === 'number') return [...str(1, name), ...int(3, v), ...int(20, 2)];
  if (Array.isArray(v)) return [...str(1, name), ...v.flatMap((x) => int(8, x)), ...int(20, 7)];
  if ('f' in v) return [...str(1, name), ...f32(2, v.f), ...int(20, 1)];
  if ('s' in v) return [...str(1, name), ...str(4, v.s), ...int(20, 3)];
  return [...str(1, name), ...bytes(5, v.t), ...int(20, 4)];
}

function floatTensor(name: string, dims: number[], values: number[]): number[] {
  return [...dims.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, name), ...bytes(9, new Uint8Array(new Float32Array(values).buffer))];
}

function int64Tensor(name: string, dims: number[], values: number[]): number[] {
  const b = new Uint8Array(8 * values.length);
  values.forEach((v, i) => new DataView(b.buffer).setBigInt64(8 * i, BigInt(v), true));
  return [...dims.flatMap((d) => int(1, d)), ...int(2, 7), ...str(8, name), ...bytes(9, b)];
}

interface NodeDef {
  op: string;
  inputs: string[];
  outputs?: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

function valueInfo(name: string, shape: number[]): number[] {
  const dims = shape.flatMap((d) => bytes(1, int(1, d)));
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, 1), ...bytes(2, dims)]))];
}

function model(opts: { opset?: number; nodes: NodeDef[]; inits?: number[][]; input?: [string, number[]]; output?: string }): Uint8Array {
  const nodes = opts.nodes.map((n, i) =>
    bytes(1, [
      ...n.inputs.flatMap((v) => str(1, v)),
      ...(n.outputs ?? [`v${i}`]).flatMap((v) => str(2, v)),
      ...str(3, n.name ?? `n${i}`),
      ...str(4, n.op),
      ...Object.entries(n.attrs ?? {}).flatMap(([k, v]) => bytes(5, attribute(k, v))),
      ...(n.domain ? str(7, n.domain) : []),
    ]),
  );
  const lastOut = opts.output ?? (opts.nodes.at(-1)!.outputs ?? [`v${opts.nodes.length - 1}`])[0]!;
  const [inName, inShape] = opts.input ?? ['x', [1]];
  const graph = [
    ...nodes.flat(),
    ...str(2, 'g'),
    ...(opts.inits ?? []).flatMap((t) => bytes(5, t)),
    ...bytes(11, valueInfo(inName, inShape)),
    ...bytes(12, valueInfo(lastOut, [])),
  ];
  return new Uint8Array([...int(1, 8), ...bytes(8, [...str(1, ''), ...int(2, opts.opset ?? 13)]), ...bytes(7, graph)]);
}

async function run(bytesIn: Uint8Array, x: Tensor): Promise<{ shape: number[]; values: number[] }> {
  const m = await loadOnnxModel(bytesIn);
  const y = noGrad(() => m.forward(x));
  return { shape: y.shape.slice(), values: Array.from(await y.data()) };
}

async function refused(p: Promise<unknown>, ...fragments: (string | RegExp)[]): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a TesseraError matching ${fragments.join(' … ')}`).toBeInstanceOf(TesseraError);
  expect((caught as TesseraError).op).toBe('loadOnnxModel');
  for (const f of fragments) expect((caught as Error).message).toMatch(f);
}

const close = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
};

// ---- semantics --------------------------------------------------------------------------------------------------

describe('loadOnnxModel: operator semantics on hand-built graphs', () => {
  it('Gemm with transA, alpha and beta, and a broadcast C', async () => {
    // A is given as [K, M] = [3, 2] (transA=1), B [K, N] = [3, 2]; Y = 0.5 · Aᵀ B + 2 · C
    const b = model({
      input: ['a', [3, 2]],
      inits: [floatTensor('B', [3, 2], [1, 0, 0, 1, 1, 1]), floatTensor('C', [2], [1, -1])],
      nodes: [{ op: 'Gemm', inputs: ['a', 'B', 'C'], attrs: { transA: 1, alpha: { f: 0.5 }, beta: { f: 2 } } }],
    });
    const a = [1, 2, 3, 4, 5, 6]; // [[1,2],[3,4],[5,6]] → Aᵀ = [[1,3,5],[2,4,6]]
    // Aᵀ B = [[1+5, 3+5], [2+6, 4+6]] = [[6, 8], [8, 10]]
    const { shape, values } = await run(b, tensor(a, [3, 2]));
    expect(shape).toEqual([2, 2]);
    close(values, [3 + 2, 4 - 2, 4 + 2, 5 - 2]);
  });

  it('Softmax before opset 13 coerces the input to 2-D at axis; from 13 it is per axis', async () => {
    const x = [0, 1, 2, 3, 4, 5, 1, 1, 1, 1, 1, 1];
    const soft = (v: number[]): number[] => {
      const m = Math.max(...v);
      const e = v.map((z) => Math.exp(z - m));
      const s = e.reduce((p, q) => p + q, 0);
      return e.map((z) => z / s);
    };
    const g = (opset: number) => model({ opset, input: ['x', [2, 2, 3]], nodes: [{ op: 'Softmax', inputs: ['x'], attrs: { axis: 1 } }] });
    const old = await run(g(11), tensor(x, [2, 2, 3]));
    close(old.values, [...soft(x.slice(0, 6)), ...soft(x.slice(6))]);
    const now = await run(g(13), tensor(x, [2, 2, 3]));
    const per: number[] = new Array<number>(12);
    for (let n = 0; n < 2; n++)
      for (let k = 0; k < 3; k++) {
        const s = soft([x[n * 6 + k]!, x[n * 6 + 3 + k]!]);
        per[n * 6 + k] = s[0]!;
        per[n * 6 + 3 + k] = s[1]!;
      }
    close(now.values, per);
  });

  it('Clip with min/max attributes (opset < 11) and as inputs; Squeeze/Unsqueeze with axes attributes and inputs', async () => {
    const x = tensor([-3, -0.5, 0.5, 3], [1, 4]);
    const attrs = model({
      opset: 9,
      input: ['x', [1, 4]],
      nodes: [
        { op: 'Clip', inputs: ['x'], attrs: { min: { f: -1 }, max: { f: 2 } } },
        { op: 'Squeeze', inputs: ['v0'], attrs: { axes: [0] } },
      ],
    });
    const r1 = await run(attrs, x);
    expect(r1.shape).toEqual([4]);
    close(r1.values, [-1, -0.5, 0.5, 2]);
    const inputs = model({
      opset: 13,
      input: ['x', [1, 4]],
      inits: [floatTensor('lo', [], [-1]), int64Tensor('ax', [1], [2])],
      nodes: [
        { op: 'Clip', inputs: ['x', 'lo', ''] },
        { op: 'Unsqueeze', inputs: ['v0', 'ax'] },
      ],
    });
    const r2 = await run(inputs, x);
    expect(r2.shape).toEqual([1, 4, 1]);
    close(r2.values, [-1, -0.5, 0.5, 3]);
  });

  it('Reshape with 0 and -1 from a Shape/Gather/Concat computation, and Gather of a tensor with a scalar index', async () => {
    const b = model({
      input: ['x', [2, 3, 2]],
      inits: [int64Tensor('zero', [], [0]), int64Tensor('minus1', [1], [-1]), int64Tensor('one', [], [1])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['n', 'minus1'], outputs: ['n1'] }, // unused by Reshape: exercises Unsqueeze on host ints
        { op: 'Constant', inputs: [], outputs: ['tgt'], attrs: { value: { t: int64Tensor('c', [2], [0, -1]) } } },
        { op: 'Reshape', inputs: ['x', 'tgt'], outputs: ['r'] },
        { op: 'Gather', inputs: ['r', 'one'], outputs: ['y'], attrs: { axis: 1 } },
      ],
      output: 'y',
    });
    const x = Array.from({ length: 12 }, (_, i) => i);
    const r = await run(b, tensor(x, [2, 3, 2]));
    expect(r.shape).toEqual([2]);
    close(r.values, [1, 7]);
  });

  it('MaxPool with asymmetric pads and AveragePool counting pads', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const mp = model({
      input: ['x', [1, 1, 3, 3]],
      nodes: [{ op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 0, 0] } }],
    });
    // Padded by one row/column before: windows {−∞,−∞,−∞,1}, {−∞,−∞,2,3}, {−∞,4,−∞,7}, {5,6,8,9}
    const r = await run(mp, x);
    expect(r.shape).toEqual([1, 1, 2, 2]);
    close(r.values, [1, 3, 7, 9]);
    const ap = model({
      input: ['x', [1, 1, 3, 3]],
      nodes: [{ op: 'AveragePool', inputs: ['x'], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 0, 0], count_include_pad: 1 } }],
    });
    close((await run(ap, x)).values, [1 / 4, 5 / 4, 11 / 4, 28 / 4]);
  });

  it('initializers become parameters (and BatchNormalization statistics buffers) under their ONNX names', async () => {
    const b = model({
      input: ['x', [1, 2, 1, 1]],
      inits: [floatTensor('bn.w', [2], [1, 2]), floatTensor('bn.b', [2], [0, 1]), floatTensor('bn.mean', [2], [1, 1]), floatTensor('bn.var', [2], [4, 1])],
      nodes: [{ op: 'BatchNormalization', inputs: ['x', 'bn.w', 'bn.b', 'bn.mean', 'bn.var'], attrs: { epsilon: { f: 0 } } }],
    });
    const m = await loadOnnxModel(b);
    expect(m.namedParameters().map(([k]) => k)).toEqual(['bn.w', 'bn.b']);
    expect(m.namedBuffers().map(([k]) => k)).toEqual(['bn.mean', 'bn.var']);
    close(Array.from(await noGrad(() => m.forward(tensor([3, 3], [1, 2, 1, 1]))).data()), [(3 - 1) / 2, 2 * 2 + 1]);
  });
});

// ---- refusals ---------------------------------------------------------------------------------------------------

describe('loadOnnxModel: what it refuses, and how it says so', () => {
  it('an unsupported operator, naming the node, the op and what is supported', async () => {
    await refused(
      loadOnnxModel(model({ nodes: [{ op: 'Erf', name: 'my_erf', inputs: ['x'] }] })),
      "Erf node 'my_erf'",
      'operator Erf is not supported',
      /supported: Add, AveragePool, .*Unsqueeze/,
    );
  });

  it('an unsupported attribute or attribute value', async () => {
    await refused(
      loadOnnxModel(model({ nodes: [{ op: 'Relu', name: 'r', inputs: ['x'], attrs: { alpha: { f: 1 } } }] })),
      "Relu node 'r'",
      "attribute 'alpha' is not supported",
    );
    await refused(
      loadOnnxModel(model({ nodes: [{ op: 'MaxPool', name: 'p', inputs: ['x'], attrs: { kernel_shape: [2, 2], auto_pad: { s: 'SAME_UPPER' } } }] })),
      "MaxPool node 'p'",
      "auto_pad 'SAME_UPPER' is not supported (supported: NOTSET, VALID)",
    );
    await refused(loadOnnxModel(model({ nodes: [{ op: 'LRN', name: 'l', inputs: ['x'], attrs: { size: 4 } }] })), "LRN node 'l'", 'size 4 is even');
    await refused(
      loadOnnxModel(model({ nodes: [{ op: 'BatchNormalization', name: 'bn', inputs: ['x', 'x', 'x', 'x', 'x'], attrs: { training_mode: 1 } }] })),
      'training_mode=1',
    );
    await refused(
      loadOnnxModel(model({ nodes: [{ op: 'Pad', name: 'pd', inputs: ['x'], attrs: { mode: { s: 'reflect' } } }] })),
      "mode 'reflect' is not supported",
    );
  });

  it('opsets outside 7–18, other domains, dangling inputs, non-ONNX bytes', async () => {
    await refused(loadOnnxModel(model({ opset: 6, nodes: [{ op: 'Relu', inputs: ['x'] }] })), 'opset 6', 'opsets 7 to 18');
    await refused(loadOnnxModel(model({ opset: 19, nodes: [{ op: 'Relu', inputs: ['x'] }] })), 'opset 19');
    await refused(loadOnnxModel(model({ nodes: [{ op: 'Gelu', name: 'g', inputs: ['x'], domain: 'com.microsoft' }] })), "domain 'com.microsoft'");
    await refused(loadOnnxModel(model({ nodes: [{ op: 'Add', name: 'a', inputs: ['x', 'nowhere'] }] })), "Add node 'a' reads 'nowhere'");
    await refused(loadOnnxModel(new Uint8Array([0xff, 0xff, 0xff])), 'malformed protobuf');
    await refused(loadOnnxModel('/nonexistent/m.onnx'), 'cannot read /nonexistent/m.onnx');
  });

  it('a runtime shape error names the node', async () => {
    const b = model({ input: ['x', [2, 3]], inits: [int64Tensor('t', [2], [4, -1])], nodes: [{ op: 'Reshape', name: 'rs', inputs: ['x', 't'] }] });
    const m = await loadOnnxModel(b);
    expect(() => noGrad(() => m.forward(tensor([1, 2, 3, 4, 5, 6], [2, 3])))).toThrow(/Reshape node 'rs': cannot reshape \[2, 3\] to \[4, -1\]/);
  });
});

describe('exportOnnx: what it refuses', () => {
  it('a tensor op with a plain-number operand outside a layer', async () => {
    class Scale extends nn.Module {
      readonly fc = new nn.Linear(3, 2);
      override forward(x: Tensor): Tensor {
        return this.fc.forward(x).mul(2);
      }
    }
    let caught: unknown;
    try {
      await exportOnnx(new Scale(), [1, 3]);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TesseraError);
    expect((caught as Error).message).toMatch(/exportOnnx: mul with a plain-number operand/);
    await expect(exportOnnx(new Scale(), [0, 3])).rejects.toThrow(/inputShape must be positive integers/);
  });

  it('round-trips a small Sequential exactly through loadOnnxModel, keeping its state-dict keys', async () => {
    const m = new nn.Sequential(
      new nn.Conv2d(2, 3, 3, { padding: 1, stride: 2 }),
      new nn.BatchNorm2d(3),
      new nn.ReLU6(),
      new nn.MaxPool2d(2, { ceilMode: true }),
      new nn.Flatten(),
      new nn.Linear(12, 4),
    );
    m.eval();
    const x = tensor(
      Array.from({ length: 2 * 2 * 7 * 7 }, (_, i) => Math.sin(i)),
      [2, 2, 7, 7],
    );
    const want = Array.from(await noGrad(() => m.forward(x)).data());
    const back = await loadOnnxModel(await exportOnnx(m, [2, 2, 7, 7]));
    expect([...back.stateDict().keys()].sort()).toEqual([...m.stateDict().keys()].filter((k) => !k.endsWith('num_batches_tracked')).sort());
    close(Array.from(await noGrad(() => back.forward(x)).data()), want);
  });
});
