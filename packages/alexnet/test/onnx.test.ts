// The ONNX importer (src/onnx/).
//
// Part 1 needs nothing but this repository: protobuf and tensor decoding on hand-encoded messages, malformed
// bytes (every truncation of a model, bad wire types, over-long varints), graphs that are not AlexNet, and a
// round trip of our own paper AlexNet through ONNX with every tensor compared bit for bit.
//
// Part 2 compares logits with PyTorch's on fixtures written by scripts/onnx_fixtures.py (torchvision's AlexNet
// exported by torch.onnx; a BVLC-style paper AlexNet exported by torch.onnx, in the ONNX model zoo's
// bvlcalexnet layout, and in other legal spellings; a ResNet-ish net, an MLP and CaffeNet's layer order). It
// runs when /usr/bin/python3 can import torch and torchvision (Debian python3-torch, python3-torchvision), or
// on a directory made earlier: TESSERA_ONNX_FIXTURES=/path/to/dir.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TesseraError, nn, noGrad, tensor, type Tensor } from '@tessera/tensor';
import { PAPER_LRN, alexnet, type AlexNet } from '../src/index.js';
import { importOnnx, loadOnnxInto, onnxTensorToFloat32, onnxTensorToInts, parseOnnxModel } from '../src/onnx/index.js';
import { OnnxGraphView } from '../src/onnx/graph-view.js';
import { runPython } from './python.js';

// ---- a protobuf / ONNX encoder for the tests ----------------------------------------------------------------

type Part = Uint8Array | readonly number[];

function cat(...parts: Part[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function varint(v: number | bigint): number[] {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return out;
}

const key = (field: number, wire: number) => varint(field * 8 + wire);
const fV = (field: number, v: number | bigint) => cat(key(field, 0), varint(v));
const fB = (field: number, b: Part) => cat(key(field, 2), varint(b.length), b);
const fS = (field: number, s: string) => fB(field, new TextEncoder().encode(s));
const fF = (field: number, x: number) => cat(key(field, 5), new Uint8Array(new Float32Array([x]).buffer));
const bytesOf = (a: Float32Array | Float64Array | BigInt64Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** TensorProto with float32 data as raw_data (default) or packed float_data. */
function tensorF32(name: string, dims: readonly number[], data: Float32Array, storage: 'raw' | 'float_data' = 'raw'): Uint8Array {
  return cat(...dims.map((d) => fV(1, d)), fV(2, 1), fS(8, name), storage === 'raw' ? fB(9, bytesOf(data)) : fB(4, bytesOf(data)));
}

type AttrValue = number | number[] | string | { f: number } | { t: Uint8Array };

function attribute(name: string, v: AttrValue): Uint8Array {
  if (typeof v === 'number') return cat(fS(1, name), fV(3, v), fV(20, 2));
  if (Array.isArray(v))
    return cat(
      fS(1, name),
      fB(
        8,
        v.flatMap((x) => varint(x)),
      ),
      fV(20, 7),
    );
  if (typeof v === 'string') return cat(fS(1, name), fS(4, v), fV(20, 3));
  if ('f' in v) return cat(fS(1, name), fF(2, v.f), fV(20, 1));
  return cat(fS(1, name), fB(5, v.t), fV(20, 4));
}

function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrValue> = {}): Uint8Array {
  return cat(
    ...inputs.map((i) => fS(1, i)),
    ...outputs.map((o) => fS(2, o)),
    fS(3, name),
    fS(4, op),
    ...Object.entries(attrs).map(([k, v]) => fB(5, attribute(k, v))),
  );
}

function valueInfo(name: string, shape: (number | string)[]): Uint8Array {
  const dims = shape.map((d) => fB(1, typeof d === 'number' ? fV(1, d) : fS(2, d)));
  return cat(fS(1, name), fB(2, fB(1, cat(fV(1, 1), fB(2, cat(...dims))))));
}

function modelBytes(g: { nodes: Uint8Array[]; inits: Uint8Array[]; inputs: Uint8Array[]; outputs: Uint8Array[] }, opset = 13): Uint8Array {
  const graph = cat(
    ...g.nodes.map((n) => fB(1, n)),
    fS(2, 'test'),
    ...g.inits.map((t) => fB(5, t)),
    ...g.inputs.map((v) => fB(11, v)),
    ...g.outputs.map((v) => fB(12, v)),
  );
  return cat(fV(1, 8), fS(2, 'tessera-test'), fS(3, '1'), fB(8, cat(fS(1, ''), fV(2, opset))), fB(7, graph));
}

/** A graph builder: a chain from input 'x' with initializers. */
class Chain {
  nodes: Uint8Array[] = [];
  inits: Uint8Array[] = [];
  cur = 'x';
  #n = 0;

  constructor(readonly inputShape: (number | string)[] = ['N', 3, 227, 227]) {}

  init(dims: number[], data?: Float32Array): string {
    const name = `w${this.#n++}`;
    this.inits.push(tensorF32(name, dims, data ?? new Float32Array(dims.reduce((a, b) => a * b, 1))));
    return name;
  }

  op(op: string, extra: string[] = [], attrs: Record<string, AttrValue> = {}): this {
    const out = `v${this.#n++}`;
    this.nodes.push(node(op, [this.cur, ...extra], [out], `${op.toLowerCase()}${this.#n}`, attrs));
    this.cur = out;
    return this;
  }

  conv(out: number, inPerGroup: number, k: number, attrs: Record<string, AttrValue> = {}): this {
    return this.op('Conv', [this.init([out, inPerGroup, k, k]), this.init([out])], { kernel_shape: [k, k], ...attrs });
  }

  fc(out: number, inF: number): this {
    return this.op('Gemm', [this.init([out, inF]), this.init([out])], { transB: 1 });
  }

  bytes(): Uint8Array {
    return modelBytes({ nodes: this.nodes, inits: this.inits, inputs: [valueInfo('x', this.inputShape)], outputs: [valueInfo(this.cur, ['N', 'C'])] });
  }
}

/**
 * The paper AlexNet's layer sequence with zero weights. `conv` edits a convolution's attributes, `pool1` adds
 * attributes to the first MaxPool; `fc` sizes the FC layers small (the structure checks come first).
 */
function paperGraph(
  opts: {
    conv?: (i: number, attrs: Record<string, AttrValue>) => void;
    pool1?: Record<string, AttrValue>;
    fc?: [number, number, number, number];
    skipConv?: number;
    /** Input channels per group of a convolution's weight, by index (default: the paper's). */
    inPerGroup?: Record<number, number>;
  } = {},
): Chain {
  const c = new Chain();
  const convs: [number, number, number, Record<string, AttrValue>][] = [
    [96, 3, 11, { strides: [4, 4], pads: [0, 0, 0, 0] }],
    [256, 48, 5, { pads: [2, 2, 2, 2], group: 2 }],
    [384, 256, 3, { pads: [1, 1, 1, 1] }],
    [384, 192, 3, { pads: [1, 1, 1, 1], group: 2 }],
    [256, 192, 3, { pads: [1, 1, 1, 1], group: 2 }],
  ];
  convs.forEach(([o, i, k, a], j) => {
    if (j === opts.skipConv) return;
    const attrs = { ...a };
    opts.conv?.(j, attrs);
    c.conv(o, opts.inPerGroup?.[j] ?? i, k, attrs).op('Relu');
    if (j < 2) c.op('LRN', [], { size: 5, alpha: { f: 1e-4 }, beta: { f: 0.75 }, bias: { f: 1 } });
    if (j === 0 || j === 1 || j === 4) c.op('MaxPool', [], { kernel_shape: [3, 3], strides: [2, 2], ...(j === 0 ? opts.pool1 : {}) });
  });
  const [f6i, f6o, f7o, f8o] = opts.fc ?? [16, 8, 8, 4];
  return c.op('Flatten').fc(f6o, f6i).op('Relu').fc(f7o, f6o).op('Relu').fc(f8o, f7o);
}

/** Writes one of our AlexNets as ONNX (initializer names unrelated to our keys: the import maps by structure). */
async function alexnetToOnnx(m: AlexNet): Promise<Uint8Array> {
  const c = new Chain(['N', ...m.inputShape]);
  const put = async (t: Tensor) => c.init(t.shape.slice(), (await t.data()) as Float32Array);
  const layers: nn.Module[] = [...m.features, ...(m.avgpool ? [m.avgpool] : []), new nn.Flatten(), ...m.classifier];
  for (const l of layers) {
    if (l instanceof nn.Conv2d) {
      c.op('Conv', [await put(l.weight), await put(l.bias!)], {
        kernel_shape: [...l.kernelSize],
        strides: [...l.stride],
        pads: [...l.padding, ...l.padding],
        group: l.groups,
      });
    } else if (l instanceof nn.ReLU) c.op('Relu');
    else if (l instanceof nn.LocalResponseNorm) c.op('LRN', [], { size: l.size, alpha: { f: l.alpha }, beta: { f: l.beta }, bias: { f: l.k } });
    else if (l instanceof nn.MaxPool2d) c.op('MaxPool', [], { kernel_shape: [3, 3], strides: [2, 2] });
    else if (l instanceof nn.AdaptiveAvgPool2d) c.op('AveragePool', [], { kernel_shape: [1, 1], strides: [1, 1] });
    else if (l instanceof nn.Flatten) c.op('Flatten', [], { axis: 1 });
    else if (l instanceof nn.Dropout) c.op('Dropout');
    else if (l instanceof nn.Linear) c.op('Gemm', [await put(l.weight), await put(l.bias!)], { transB: 1 });
    else throw new Error(`alexnetToOnnx: unexpected layer ${l.constructor.name}`);
  }
  return c.bytes();
}

async function expectOnnxError(p: Promise<unknown> | (() => unknown), pattern: RegExp, op = 'importOnnx'): Promise<TesseraError> {
  let err: unknown = null;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a TesseraError matching ${pattern}`).toBeInstanceOf(TesseraError);
  expect((err as TesseraError).op).toBe(op);
  expect((err as Error).message).toMatch(pattern);
  return err as TesseraError;
}

// ---- part 1: no PyTorch needed --------------------------------------------------------------------------------

describe('ONNX protobuf decoding', () => {
  it('decodes tensors in every storage the format allows', () => {
    const vals = [1.5, -2.25, 3e-5, 65504];
    const half = new Uint16Array([0x3e00, 0xc080, 0x01f7, 0x7bff]); // 1.5, -2.25, ≈3.0e-5, 65504 as binary16
    const bf16 = new Uint16Array([0x3fc0, 0xc010, 0x37fc, 0x477f]); // 1.5, -2.25, ≈3.0e-5, 65280
    const t = (name: string, type: number, ...fields: Uint8Array[]) => cat(fV(1, 2), fV(1, 2), fV(2, type), fS(8, name), ...fields);
    const inits = [
      t('raw', 1, fB(9, bytesOf(new Float32Array(vals)))),
      t('packed', 1, fB(4, bytesOf(new Float32Array(vals)))),
      t('unpacked', 1, ...vals.map((v) => fF(4, v))),
      t('double_raw', 11, fB(9, bytesOf(new Float64Array(vals)))),
      t('double_data', 11, fB(10, bytesOf(new Float64Array(vals)))),
      t('f16_raw', 10, fB(9, bytesOf(half))),
      t('f16_int32', 10, ...[...half].map((h) => fV(5, h))),
      t('bf16_raw', 16, fB(9, bytesOf(bf16))),
      // dims unpacked above; here packed, and negative int64 values both raw and as (10-byte) varints.
      cat(fB(1, [...varint(4)]), fV(2, 7), fS(8, 'i64_raw'), fB(9, bytesOf(BigInt64Array.from([-1n, 9216n, 0n, -9007199254740991n])))),
      cat(fB(1, [...varint(3)]), fV(2, 7), fS(8, 'i64_data'), fV(7, -1), fV(7, 2 ** 40), fV(7, -7)),
    ];
    const m = parseOnnxModel(
      modelBytes({
        nodes: [node('Identity', ['x'], ['y'], 'id', { ints: [-1, 3, 2 ** 50], f: { f: 1e-4 }, s: 'SAME_UPPER' })],
        inits,
        inputs: [valueInfo('x', ['batch', 3, 227, 227])],
        outputs: [valueInfo('y', [-1])],
      }),
    );
    const g = m.graph;
    const f32 = (name: string) => Array.from(onnxTensorToFloat32(g.initializers.get(name)!));
    const exact = Array.from(new Float32Array(vals));
    for (const name of ['raw', 'packed', 'unpacked', 'double_raw', 'double_data']) expect(f32(name), name).toEqual(exact);
    expect(f32('f16_raw')).toEqual(f32('f16_int32'));
    expect(f32('f16_raw')[0]).toBe(1.5);
    expect(f32('f16_raw')[1]).toBe(-2.25);
    expect(f32('f16_raw')[2]).toBeCloseTo(3e-5, 7);
    expect(f32('f16_raw')[3]).toBe(65504);
    expect(f32('bf16_raw').slice(0, 2)).toEqual([1.5, -2.25]);
    expect(f32('bf16_raw')[3]).toBe(65280);
    expect(g.initializers.get('raw')!.dims).toEqual([2, 2]);
    expect(onnxTensorToInts(g.initializers.get('i64_raw')!)).toEqual([-1, 9216, 0, -9007199254740991]);
    expect(onnxTensorToInts(g.initializers.get('i64_data')!)).toEqual([-1, 2 ** 40, -7]);
    const a = g.nodes[0]!.attributes;
    expect(a.get('ints')!.ints).toEqual([-1, 3, 2 ** 50]);
    expect(a.get('f')!.f).toBe(1e-4); // float32 in the file, read back as the decimal it was written from
    expect(new TextDecoder().decode(a.get('s')!.s!)).toBe('SAME_UPPER');
    expect(g.inputs[0]).toEqual({ name: 'x', elemType: 1, shape: ['batch', 3, 227, 227] });
    expect(m.opsets.get('')).toBe(13);
    expect(m.producerName).toBe('tessera-test');
  });

  it('rejects payloads that do not match their dims, external data and non-float weights', async () => {
    const m = parseOnnxModel(
      modelBytes({
        nodes: [],
        inits: [
          cat(fV(1, 3), fV(1, 4), fV(2, 1), fS(8, 'short'), fB(9, new Uint8Array(44))),
          cat(fV(1, 2), fV(2, 1), fS(8, 'ext'), fB(13, cat(fS(1, 'location'), fS(2, 'weights.bin'))), fV(14, 1)),
          cat(fV(1, 2), fV(2, 6), fS(8, 'int32'), fV(5, 1), fV(5, 2)),
        ],
        inputs: [],
        outputs: [],
      }),
    );
    const get = (n: string) => m.graph.initializers.get(n)!;
    await expectOnnxError(() => onnxTensorToFloat32(get('short')), /'short' \(FLOAT \[3, 4\]\) needs 12 values but raw_data holds 11/);
    await expectOnnxError(() => onnxTensorToFloat32(get('ext')), /'ext' keeps its data in an external file \('weights\.bin'\)/);
    await expectOnnxError(() => onnxTensorToFloat32(get('int32')), /'int32' is INT32; expected a float tensor/);
  });

  it('rejects bytes that are not a protobuf, bad wire types and over-long varints', async () => {
    await expectOnnxError(importOnnx(new Uint8Array(0)), /empty/);
    await expectOnnxError(importOnnx(new TextEncoder().encode('{"not": "onnx"}')), /malformed protobuf|wire type|truncated/);
    await expectOnnxError(importOnnx(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), /malformed protobuf/);
    await expectOnnxError(importOnnx(new Uint8Array([0x0b, 0x01])), /field 1 has wire type 3/);
    await expectOnnxError(importOnnx(cat([0x08], new Array(10).fill(0xff), [0x01])), /varint longer than 10 bytes/);
    // A known field with the wrong wire type: graph (7) as a varint.
    await expectOnnxError(importOnnx(cat(fV(1, 8), fV(7, 1))), /field graph has wire type 0, expected 2/);
    // A valid protobuf that is not an ONNX model.
    await expectOnnxError(importOnnx(cat(fS(5, 'hello'))), /no ONNX graph .* not an ONNX model/);
    await expectOnnxError(importOnnx('/nonexistent/alexnet.onnx'), /cannot read \/nonexistent\/alexnet\.onnx/);
  });

  it('every truncation of a model is a TesseraError, never a crash or a silent partial import', async () => {
    const bytes = paperGraph({ fc: [4, 4, 4, 4] }).bytes();
    let truncated = 0;
    const step = Math.max(1, Math.floor(bytes.length / 1500));
    for (let n = 1; n < bytes.length; n += step) {
      // A cut at a field boundary before the graph leaves a valid message without a graph; any other cut is truncation.
      const err = await expectOnnxError(importOnnx(bytes.subarray(0, n)), /truncated|no ONNX graph/);
      if (/truncated/.test(err.message)) truncated++;
    }
    expect(truncated).toBeGreaterThan(1400);
    // Random single-byte corruption: either a TesseraError or (if the byte was inside a weight) a valid import.
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200; i++) {
      const b = bytes.slice();
      b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        await importOnnx(b);
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(TesseraError);
      }
    }
  });
});

describe('ONNX graphs that are not AlexNet', () => {
  it('names the node and what was expected', async () => {
    // Too few convolutions.
    await expectOnnxError(importOnnx(paperGraph({ skipConv: 2 }).bytes()), /found 4 Conv node\(s\).*AlexNet has 5 convolutions/);
    // No convolutions at all: an MLP.
    await expectOnnxError(
      importOnnx(new Chain(['N', 64]).fc(32, 64).op('Relu').fc(10, 32).bytes()),
      /found 0 Conv node\(s\) on the path from the input \(fc → relu → fc\)/,
    );
    // Widths that are neither variant.
    await expectOnnxError(
      importOnnx(paperGraph({ conv: (i, a) => void (i === 1 && (a.group = 1)) }).bytes()),
      /widths 96-256-384-384-256 with groups 1-1-1-2-2; expected the paper/,
    );
    // The requested variant is not the one in the file.
    await expectOnnxError(
      importOnnx(paperGraph().bytes(), { variant: 'torchvision' }),
      /the graph is the paper AlexNet .* but variant 'torchvision' was requested/,
    );
    // Wrong geometry.
    await expectOnnxError(
      importOnnx(paperGraph({ conv: (i, a) => void (i === 0 && (a.pads = [3, 3, 3, 3])) }).bytes()),
      /Conv node 'conv\d+' \(conv1\) has pads \[3, 3, 3, 3\]; the paper AlexNet pads \[0, 0, 0, 0\] or \[2, 2, 2, 2\]/,
    );
    await expectOnnxError(
      importOnnx(paperGraph({ conv: (i, a) => void (i === 3 && (a.dilations = [2, 2])) }).bytes()),
      /\(conv4\) has dilations \[2, 2\], expected \[1, 1\]/,
    );
    await expectOnnxError(importOnnx(paperGraph({ pool1: { pads: [1, 1, 1, 1] } }).bytes()), /MaxPool node .* has pads \[1, 1, 1, 1\]/);
    // The FC layers must be 9216 → 4096 → 4096 → classes.
    await expectOnnxError(importOnnx(paperGraph().bytes()), /Gemm node '\w+' \(fc6, classifier\.0\) maps 16 → 8 features; the paper AlexNet needs 9216 → 4096/);
  });

  it("checks weights against the model's stateDict(), naming the ONNX tensor, the key and both shapes", async () => {
    // conv3 as [384, 128, 3, 3]: the widths and groups say paper AlexNet, the weight does not fit its features.8.
    await expectOnnxError(
      importOnnx(paperGraph({ inPerGroup: { 2: 128 } }).bytes()),
      /Conv node 'conv\d+' \(conv3, features\.8\) has weight 'w\d+' \[384, 128, 3, 3\]; the paper AlexNet's stateDict\(\) has features\.8\.weight \[384, 256, 3, 3\]/,
    );
    await expectOnnxError(
      importOnnx(paperGraph().bytes()),
      /maps 16 → 8 features; the paper AlexNet needs 9216 → 4096 \(ONNX tensor 'w\d+' \[8, 16\] read as \[8, 16\]; its stateDict\(\) has classifier\.0\.weight \[4096, 9216\]\)/,
    );
  });

  it('rejects branches, foreign ops, quantised ops, missing and external weights', async () => {
    // A residual connection.
    const res = new Chain(['N', 3, 8, 8]).conv(4, 3, 3, { pads: [1, 1, 1, 1] }).op('Relu');
    const skip = res.cur;
    res.conv(4, 4, 3, { pads: [1, 1, 1, 1] });
    res.nodes.push(node('Add', [res.cur, skip], ['sum'], 'residual'));
    res.cur = 'sum';
    await expectOnnxError(
      importOnnx(res.bytes()),
      /value 'v\d+' \(output of Relu node 'relu\d+'\) feeds 2 nodes: Conv node 'conv\d+', Add node 'residual'; .*without branches or skip connections/,
    );
    // An op AlexNet does not have.
    const bn = new Chain().conv(96, 3, 11, { strides: [4, 4] }).op('BatchNormalization', ['a', 'b', 'c', 'd']);
    await expectOnnxError(
      importOnnx(bn.bytes()),
      /BatchNormalization node 'batchnormalization\d+' \(after output of Conv node 'conv\d+'\): op type BatchNormalization is not part of AlexNet/,
    );
    const q = new Chain().op('QLinearConv', ['s', 'z']);
    await expectOnnxError(importOnnx(q.bytes()), /QLinearConv is a quantised operator; import the float32 model instead/);
    // A weight that is not in the file (torch.onnx.export(..., export_params=False)).
    const missing = new Chain();
    missing.nodes.push(node('Conv', ['x', 'conv1.weight'], ['y'], 'conv1', { kernel_shape: [11, 11] }));
    missing.cur = 'y';
    await expectOnnxError(importOnnx(missing.bytes()), /Conv node 'conv1': weight \(input #1\) 'conv1\.weight' is neither an initializer nor a Constant node/);
    // External data.
    const ext = new Chain();
    ext.inits.push(cat(fV(1, 96), fV(1, 3), fV(1, 11), fV(1, 11), fV(2, 1), fS(8, 'W'), fB(13, cat(fS(1, 'location'), fS(2, 'alexnet.data'))), fV(14, 1)));
    ext.nodes.push(node('Conv', ['x', 'W'], ['y'], 'conv1', { kernel_shape: [11, 11], strides: [4, 4] }));
    ext.cur = 'y';
    await expectOnnxError(importOnnx(ext.bytes()), /Conv node 'conv1': weight \(input #1\) 'W' keeps its data in an external file \('alexnet\.data'\)/);
    // Two runtime inputs.
    const two = modelBytes({
      nodes: [node('Add', ['a', 'b'], ['c'], 'add')],
      inits: [],
      inputs: [valueInfo('a', [1]), valueInfo('b', [1])],
      outputs: [valueInfo('c', [1])],
    });
    await expectOnnxError(importOnnx(two), /2 runtime inputs \('a', 'b'\)/);
  });
});

describe('ONNX graph view', () => {
  it('orders nodes topologically (file order among ready ones) and names a node on a cycle', async () => {
    const graph = (nodes: Uint8Array[]) =>
      parseOnnxModel(modelBytes({ nodes, inits: [], inputs: [valueInfo('x', [1])], outputs: [valueInfo('out', [1])] })).graph;
    // Written consumers first: d needs b and c, b and c need a.
    const g = graph([node('Add', ['b', 'c'], ['out'], 'd'), node('Relu', ['a'], ['c'], 'c'), node('Relu', ['a'], ['b'], 'b'), node('Relu', ['x'], ['a'], 'a')]);
    const view = new OnnxGraphView(g);
    expect(view.topologicalOrder().map((i) => g.nodes[i]!.name)).toEqual(['a', 'c', 'b', 'd']);
    expect(view.runtimeInputs().map((v) => v.name)).toEqual(['x']);
    expect(view.consumers.get('a')).toEqual([1, 2]);
    const cyclic = new OnnxGraphView(graph([node('Relu', ['x'], ['a'], 'a'), node('Add', ['a', 'q'], ['p'], 'p'), node('Relu', ['p'], ['q'], 'q')]));
    await expectOnnxError(() => cyclic.topologicalOrder(), /graph 'test' has a cycle through Add node 'p'/);
  });
});

describe('ONNX round trip of our own AlexNet', () => {
  it('paper variant: LRN nodes and grouped convs map back to the same keys, bit for bit', async () => {
    // Distinct pseudo-random values in every tensor (cheaper than the seeded N(0, 0.01) init of 61M weights).
    const src = alexnet({ variant: 'paper', init: 'none' });
    let h = 0x9e3779b9;
    const fill = new Map<string, Tensor>();
    for (const [k, t] of src.stateDict()) {
      const v = new Float32Array(t.size);
      for (let i = 0; i < v.length; i++) {
        h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
        v[i] = (h / 2 ** 32 - 0.5) * 0.02;
      }
      fill.set(k, tensor(v, t.shape));
    }
    src.loadStateDict(fill);
    for (const t of fill.values()) t.dispose();
    const bytes = await alexnetToOnnx(src);
    const dst = alexnet({ variant: 'paper', init: 'none' });
    const res = await loadOnnxInto(dst, bytes);
    expect(res.variant).toBe('paper');
    expect(res.conv1Padding).toBe(2);
    expect(res.numClasses).toBe(1000);
    expect(res.lrn.map((l) => l.layer)).toEqual(['features.2', 'features.6']);
    expect(res.lrn[0]).toMatchObject({ size: PAPER_LRN.size, beta: PAPER_LRN.beta, k: PAPER_LRN.k });
    expect(res.lrn[0]!.alpha).toBeCloseTo(PAPER_LRN.alpha, 12);
    expect(res.lrnMatchesGraph).toBe(true);
    expect(res.lrnApplied).toBe(false);
    const want = src.stateDict();
    let compared = 0;
    for (const [k, t] of dst.stateDict()) {
      const a = await t.data();
      const b = await want.get(k)!.data();
      expect(a.length, k).toBe(b.length);
      let diff = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
      expect(diff, `${k}: ${diff} values differ`).toBe(0);
      compared++;
    }
    expect(compared).toBe(16);
    // The checks that need a matching model: classes, conv1 padding, variant.
    await expectOnnxError(
      loadOnnxInto(alexnet({ variant: 'paper', numClasses: 10, init: 'none' }), bytes),
      /1000 classes but the model into 10/,
      'loadOnnxInto',
    );
    await expectOnnxError(
      loadOnnxInto(alexnet({ variant: 'paper', conv1Padding: 0, init: 'none' }), bytes),
      /conv1 pads by 2 .* conv1Padding: 2/,
      'loadOnnxInto',
    );
    await expectOnnxError(loadOnnxInto(alexnet({ variant: 'reduced', init: 'none' }), bytes), /not 'reduced'/, 'loadOnnxInto');
    src.dispose();
    dst.dispose();
  });
});

// ---- part 2: against PyTorch ----------------------------------------------------------------------------------

const script = new URL('../scripts/onnx_fixtures.py', import.meta.url).pathname;
let dir: string | null = process.env.TESSERA_ONNX_FIXTURES ?? null;
let ownDir: string | null = null;
let unavailable = '';

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

function maxRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return err / Math.max(scale, 1e-12);
}

async function logitsOf(m: AlexNet, stem: 'paper' | 'torchvision'): Promise<{ got: Float32Array; want: Float32Array }> {
  const [c, h, w] = m.inputShape;
  const x = tensor(readF32(join(dir!, `${stem}.input.bin`)), [2, c, h, w]);
  m.eval();
  const y = noGrad(() => m.forward(x));
  const got = (await y.data()) as Float32Array;
  x.dispose();
  y.dispose();
  return { got, want: readF32(join(dir!, `${stem}.logits.bin`)) };
}

describe('ONNX import against PyTorch', () => {
  beforeAll(async () => {
    if (dir) return;
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      unavailable = `ONNX/PyTorch comparison skipped: /usr/bin/python3 cannot import torch and torchvision (${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}); install python3-torch python3-torchvision`;
      console.log(unavailable);
      return;
    }
    ownDir = mkdtempSync(join(tmpdir(), 'tessera-onnx-'));
    const res = await runPython([script, ownDir, '--seed', '0'], 110_000);
    if (res.status !== 0 || !existsSync(join(ownDir, 'paper_zoo.onnx')))
      throw new Error(`scripts/onnx_fixtures.py failed (${res.status ?? res.signal}): ${res.stderr}`);
    dir = ownDir;
  });

  afterAll(() => {
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  });

  it('torchvision AlexNet exported by torch.onnx: same logits as torch', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const file = join(dir!, 'torchvision.onnx');
    const m = alexnet({ variant: 'torchvision', init: 'none' });
    const res = await loadOnnxInto(m, file);
    expect(res.variant).toBe('torchvision');
    expect(res.numClasses).toBe(1000);
    expect(res.lrn).toEqual([]);
    expect(res.lrnMatchesGraph).toBe(true);
    expect(res.report.producer).toMatch(/^pytorch /);
    expect(res.report.weightTypes).toEqual(['FLOAT']);
    expect(res.report.layers.join('\n')).toMatch(/Gemm node '\/classifier\/classifier\.1\/Gemm': 9216 → 4096 → classifier\.1/);
    const { got, want } = await logitsOf(m, 'torchvision');
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
    m.dispose();
    // Asking for the other variant, and truncated copies of the same file.
    const bytes = readFileSync(file);
    await expectOnnxError(importOnnx(bytes, { variant: 'paper' }), /the graph is the torchvision AlexNet \(widths 64-192-384-256-256/);
    for (const n of [100, bytes.length >> 1, bytes.length - 1]) {
      await expectOnnxError(importOnnx(bytes.subarray(0, n)), /truncated/);
    }
  });

  it("BVLC-style paper AlexNet exported by torch.onnx (LRN as torch's expansion): same logits with the graph's LRN", async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const bytes = readFileSync(join(dir!, 'paper_torch.onnx'));
    const m = alexnet({ variant: 'paper', conv1Padding: 0, init: 'none' });
    // Default: the model keeps the paper's LRN (k = 2, α = 1e-4 undivided), which is not BVLC's.
    const kept = await loadOnnxInto(m, bytes);
    expect(kept.lrnApplied).toBe(false);
    expect(kept.lrnMatchesGraph).toBe(false);
    expect(kept.report.notes.join('\n')).toMatch(/differs from the model's features\.2 .* pass \{ lrn: 'graph' \}/);
    const before = await logitsOf(m, 'paper');
    expect(maxRelError(before.got, before.want)).toBeGreaterThan(0.05);
    const res = await loadOnnxInto(m, bytes, { lrn: 'graph' });
    expect(res.lrnApplied).toBe(true);
    expect(res.variant).toBe('paper');
    expect(res.conv1Padding).toBe(0);
    expect(res.lrn).toEqual([
      expect.objectContaining({ layer: 'features.2', size: 5, alpha: 1e-4, beta: 0.75, k: 1 }),
      expect.objectContaining({ layer: 'features.6', size: 5, alpha: 1e-4, beta: 0.75, k: 1 }),
    ]);
    expect(res.lrn[0]!.node).toMatch(/torch LocalResponseNorm expansion ending in Div node/);
    const lrn = m.features.at(2) as nn.LocalResponseNorm;
    expect([lrn.size, lrn.alpha, lrn.beta, lrn.k]).toEqual([5, 1e-4, 0.75, 1]);
    const after = await logitsOf(m, 'paper');
    expect(maxRelError(after.got, after.want)).toBeLessThan(1e-4);
    // A paper model built for 224×224 input (conv1 padding 2) is refused with the fix in the message.
    await expectOnnxError(
      loadOnnxInto(alexnet({ variant: 'paper', init: 'none' }), bytes),
      /conv1 pads by 0 \(227×227 input, BVLC\) .* conv1Padding: 0/,
      'loadOnnxInto',
    );
    m.dispose();
  });

  it('the ONNX model zoo bvlcalexnet layout (LRN nodes, Constant weights, FLOAT16, MatMul+Add, Gemm alpha, Softmax): same logits', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const m = alexnet({ variant: 'paper', conv1Padding: 0, init: 'none' });
    const res = await loadOnnxInto(m, join(dir!, 'paper_zoo.onnx'), { lrn: 'graph' });
    expect(res.variant).toBe('paper');
    expect(res.conv1Padding).toBe(0);
    expect(res.report.opset).toBe(9);
    expect(res.report.input).toEqual({ name: 'data_0', shape: [1, 3, 224, 224] });
    expect(res.report.output).toEqual({ name: 'softmaxout_1', softmax: true });
    expect(res.report.weightTypes).toEqual(['FLOAT', 'FLOAT16']);
    const notes = res.report.notes.join('\n');
    expect(notes).toMatch(/MaxPool node #\d+ pads bottom\/right by \[1, 1\]/);
    expect(notes).toMatch(/reshapes to \[1, 9216\], fixing the batch size to 1/);
    expect(notes).toMatch(/MatMul node 'fc7_matmul' \+ Add node 'fc7_add': MatMul weight \[in, out\] transposed/);
    expect(notes).toMatch(/alpha=0\.5, beta=1 folded/);
    expect(notes).toMatch(/declares input \[1, 3, 224, 224\]; with conv1 padding 0 our paper AlexNet takes 227×227/);
    expect(notes).toMatch(/ends in Softmax/);
    expect(res.lrn.map((l) => [l.size, l.alpha, l.beta, l.k])).toEqual([
      [5, 1e-4, 0.75, 1],
      [5, 1e-4, 0.75, 1],
    ]);
    const { got, want } = await logitsOf(m, 'paper');
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
    m.dispose();
  });

  it('the same network in other spellings (auto_pad, ceil_mode, DOUBLE biases, Gemm beta, symbolic batch): same logits', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    const m = alexnet({ variant: 'paper', conv1Padding: 0, init: 'none' });
    const res = await loadOnnxInto(m, join(dir!, 'paper_alt.onnx'), { lrn: 'graph' });
    expect(res.report.weightTypes).toEqual(['DOUBLE', 'FLOAT']);
    expect(res.report.input.shape).toEqual(['N', 3, 227, 227]);
    expect(res.report.notes.join('\n')).toMatch(/MaxPool node 'pool1' uses ceil_mode/);
    const { got, want } = await logitsOf(m, 'paper');
    expect(maxRelError(got, want)).toBeLessThan(1e-4);
    m.dispose();
  });

  it('torch exports that are not AlexNet: a ResNet-ish net, an MLP, CaffeNet layer order', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    await expectOnnxError(importOnnx(join(dir!, 'resnetish.onnx')), /feeds 2 nodes: .*Add node '\/Add'.*skip connections/);
    await expectOnnxError(importOnnx(join(dir!, 'mlp.onnx')), /found 0 Conv node\(s\) .*\(flatten → fc → relu → fc\)/);
    await expectOnnxError(importOnnx(join(dir!, 'caffenet.onnx')), /layer 3 of the paper AlexNet should be lrn but the graph has MaxPool node .* CaffeNet/);
  });
});
