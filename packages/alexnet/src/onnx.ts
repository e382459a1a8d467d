/**
 * ONNX import for AlexNet: reads an ONNX model (its protobuf, decoded by ./protobuf.ts with no dependency),
 * walks the graph from its input, checks that it is AlexNet — the paper's / BVLC's (96-256-384-384-256, groups
 * 2 in conv2, conv4 and conv5, LRN after conv1 and conv2) or torchvision's (64-192-384-256-256, no LRN) — and
 * maps its weights to our state-dict keys with every shape checked.
 *
 * Accepted graphs are those torch.onnx.export produces for either network (LRN either as ONNX `LRN` nodes or
 * as torch's Mul/Pad/AveragePool/Pow/Div decomposition of nn.LocalResponseNorm) and the ONNX model zoo's
 * `bvlcalexnet-*.onnx` (Caffe → Caffe2 → ONNX: weights as initializers, Reshape before fc6, Dropout nodes,
 * Softmax output, bottom/right-padded pools emulating Caffe's ceil-mode pooling). Weights may be initializers
 * or `Constant` nodes, FLOAT, FLOAT16, BFLOAT16 or DOUBLE; FC layers may be Gemm (any transB, alpha and beta
 * folded into the weights) or MatMul (+ Add).
 *
 * The LRN constants are part of the graph, not of the weights: BVLC's Caffe net uses k = 1 and α = 1e-4
 * (divided by n, as ONNX, Caffe and PyTorch do), the paper k = 2 and α = 1e-4 undivided (5e-4 in our
 * convention). importOnnx returns the constants it found; loadOnnxInto keeps the model's LRN layers unless
 * `{ lrn: 'graph' }` asks it to replace them with the graph's, which is what reproduces the graph's outputs.
 */
import { TesseraError, nn, tensor, type Tensor } from '@tessera/tensor';
import type { AlexNet } from './model.js';
import { ProtoReader, WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, decodeFloat32LE, decodeFloat64LE } from './protobuf.js';

const OP = 'importOnnx';

// ---- ONNX protobuf messages (the subset AlexNet needs) ----------------------------------------------------

/** ONNX TensorProto.DataType values this importer decodes. */
export const ONNX_DTYPES: Readonly<Record<number, string>> = {
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
};

/** A decoded TensorProto; the payload stays a view into the file until `onnxTensorToFloat32` / `onnxTensorToInts`. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array | null;
  /** float_data chunks (packed chunks arrive as typed arrays, unpacked values as numbers). */
  floatData: (Float32Array | number[])[];
  int32Data: number[];
  int64Data: number[];
  doubleData: number[];
  /** data_location = EXTERNAL: the file the payload lives in, per external_data's `location`. */
  externalLocation: string | null;
}

export interface OnnxAttribute {
  name: string;
  /** AttributeProto.AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 5 GRAPH, 6 FLOATS, 7 INTS, 8 STRINGS. */
  type: number;
  f: number | null;
  i: number | null;
  s: Uint8Array | null;
  t: OnnxTensor | null;
  floats: number[];
  ints: number[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxValueInfo {
  name: string;
  /** Element type (TensorProto.DataType), 0 when absent. */
  elemType: number;
  /** Dimensions: numbers, symbolic names, or null when the shape is absent. */
  shape: (number | string)[] | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** opset_import: domain ('' is the default ONNX domain) → version. */
  opsets: Map<string, number>;
  graph: OnnxGraph;
}

/** Parses an ONNX ModelProto. Tensor payloads are views into `bytes` (keep it alive while they are used). */
export function parseOnnxModel(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new TesseraError(OP, `expects a Uint8Array or a path, got ${typeof bytes}`);
  if (bytes.length === 0) throw new TesseraError(OP, 'the file is empty');
  const r = ProtoReader.of(bytes, 'ModelProto', OP);
  const model: OnnxModel = { irVersion: 0, producerName: '', producerVersion: '', opsets: new Map(), graph: null as unknown as OnnxGraph };
  let graph: OnnxGraph | null = null;
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.expectWire('ir_version', wire, WIRE_VARINT);
        model.irVersion = r.int64();
        break;
      case 2:
        r.expectWire('producer_name', wire, WIRE_LEN);
        model.producerName = r.string();
        break;
      case 3:
        r.expectWire('producer_version', wire, WIRE_LEN);
        model.producerVersion = r.string();
        break;
      case 7:
        r.expectWire('graph', wire, WIRE_LEN);
        if (graph) throw new TesseraError(OP, 'ModelProto has two graph fields');
        graph = parseGraph(r.message('ModelProto.graph'));
        break;
      case 8: {
        r.expectWire('opset_import', wire, WIRE_LEN);
        const o = r.message('ModelProto.opset_import');
        let domain = '';
        let version = 0;
        while (!o.done) {
          const t = o.tag();
          if (t.field === 1 && t.wire === WIRE_LEN) domain = o.string();
          else if (t.field === 2 && t.wire === WIRE_VARINT) version = o.int64();
          else o.skip(t.wire);
        }
        model.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
        break;
      }
      default:
        r.skip(wire);
    }
  }
  if (!graph) {
    throw new TesseraError(OP, `the file has no ONNX graph (ModelProto field 7)${model.irVersion === 0 ? ' and no ir_version: it is not an ONNX model' : ''}`);
  }
  model.graph = graph;
  return model;
}

function parseGraph(r: ProtoReader): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.expectWire('node', wire, WIRE_LEN);
        g.nodes.push(parseNode(r.message(`GraphProto.node[${g.nodes.length}]`)));
        break;
      case 2:
        r.expectWire('name', wire, WIRE_LEN);
        g.name = r.string();
        break;
      case 5: {
        r.expectWire('initializer', wire, WIRE_LEN);
        const t = parseTensor(r.message(`GraphProto.initializer[${g.initializers.size}]`));
        if (g.initializers.has(t.name)) throw new TesseraError(OP, `two initializers are named '${t.name}'`);
        g.initializers.set(t.name, t);
        break;
      }
      case 11:
        r.expectWire('input', wire, WIRE_LEN);
        g.inputs.push(parseValueInfo(r.message(`GraphProto.input[${g.inputs.length}]`)));
        break;
      case 12:
        r.expectWire('output', wire, WIRE_LEN);
        g.outputs.push(parseValueInfo(r.message(`GraphProto.output[${g.outputs.length}]`)));
        break;
      default:
        // value_info (13), sparse_initializer (15), doc_string, quantization annotations: not needed.
        r.skip(wire);
    }
  }
  return g;
}

function parseNode(r: ProtoReader): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.expectWire('input', wire, WIRE_LEN);
        n.inputs.push(r.string());
        break;
      case 2:
        r.expectWire('output', wire, WIRE_LEN);
        n.outputs.push(r.string());
        break;
      case 3:
        r.expectWire('name', wire, WIRE_LEN);
        n.name = r.string();
        break;
      case 4:
        r.expectWire('op_type', wire, WIRE_LEN);
        n.opType = r.string();
        break;
      case 5: {
        r.expectWire('attribute', wire, WIRE_LEN);
        const a = parseAttribute(r.message(`${r.where}.attribute[${n.attributes.size}]`));
        n.attributes.set(a.name, a);
        break;
      }
      case 7:
        r.expectWire('domain', wire, WIRE_LEN);
        n.domain = r.string();
        break;
      default:
        r.skip(wire);
    }
  }
  return n;
}

function parseAttribute(r: ProtoReader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0, f: null, i: null, s: null, t: null, floats: [], ints: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.expectWire('name', wire, WIRE_LEN);
        a.name = r.string();
        break;
      case 2:
        r.expectWire('f', wire, WIRE_FIXED32);
        a.f = f32Decimal(r.float32());
        break;
      case 3:
        r.expectWire('i', wire, WIRE_VARINT);
        a.i = r.int64();
        break;
      case 4:
        r.expectWire('s', wire, WIRE_LEN);
        a.s = r.bytes();
        break;
      case 5:
        r.expectWire('t', wire, WIRE_LEN);
        a.t = parseTensor(r.message(`${r.where}.t`));
        break;
      case 7:
        r.repeatedFloat32('floats', wire, a.floats);
        for (let j = 0; j < a.floats.length; j++) a.floats[j] = f32Decimal(a.floats[j]!);
        break;
      case 8:
        r.repeatedInt64('ints', wire, a.ints);
        break;
      case 20:
        r.expectWire('type', wire, WIRE_VARINT);
        a.type = r.int64();
        break;
      default:
        // g, strings, tensors, graphs, sparse tensors, type protos, ref_attr_name: AlexNet uses none.
        r.skip(wire);
    }
  }
  // IR version < 3 files have no type field: infer it from what is set.
  if (a.type === 0) a.type = a.t ? 4 : a.s ? 3 : a.ints.length > 0 ? 7 : a.floats.length > 0 ? 6 : a.i !== null ? 2 : a.f !== null ? 1 : 0;
  return a;
}

/**
 * The shortest decimal that rounds to the same float32: attributes are float32 in the file, and a user's
 * alpha = 1e-4 should read back as 1e-4, not 9.99999974738e-5.
 */
function f32Decimal(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

function parseTensor(r: ProtoReader): OnnxTensor {
  const t: OnnxTensor = {
    name: '',
    dims: [],
    dataType: 0,
    rawData: null,
    floatData: [],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    externalLocation: null,
  };
  let dataLocation = 0;
  const external: [string, string][] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.repeatedInt64('dims', wire, t.dims);
        break;
      case 2:
        r.expectWire('data_type', wire, WIRE_VARINT);
        t.dataType = r.int64();
        break;
      case 3:
        throw new TesseraError(OP, `tensor in ${r.where} is segmented (TensorProto.segment); segmented tensors are not supported`);
      case 4: {
        r.expectWire('float_data', wire, WIRE_FIXED32, WIRE_LEN);
        if (wire === WIRE_LEN) {
          const b = r.bytes();
          if (b.length % 4 !== 0) r.fail(`packed float_data of ${b.length} bytes is not a multiple of 4`);
          t.floatData.push(decodeFloat32LE(b));
        } else {
          const last = t.floatData.at(-1);
          if (Array.isArray(last)) last.push(r.float32());
          else t.floatData.push([r.float32()]);
        }
        break;
      }
      case 5:
        r.repeatedInt64('int32_data', wire, t.int32Data);
        break;
      case 7:
        r.repeatedInt64('int64_data', wire, t.int64Data);
        break;
      case 8:
        r.expectWire('name', wire, WIRE_LEN);
        t.name = r.string();
        break;
      case 9:
        r.expectWire('raw_data', wire, WIRE_LEN);
        t.rawData = r.bytes();
        break;
      case 10:
        r.repeatedFloat64('double_data', wire, t.doubleData);
        break;
      case 13: {
        r.expectWire('external_data', wire, WIRE_LEN);
        const e = r.message(`${r.where}.external_data`);
        let key = '';
        let value = '';
        while (!e.done) {
          const tg = e.tag();
          if (tg.field === 1 && tg.wire === WIRE_LEN) key = e.string();
          else if (tg.field === 2 && tg.wire === WIRE_LEN) value = e.string();
          else e.skip(tg.wire);
        }
        external.push([key, value]);
        break;
      }
      case 14:
        r.expectWire('data_location', wire, WIRE_VARINT);
        dataLocation = r.int64();
        break;
      default:
        r.skip(wire);
    }
  }
  if (dataLocation === 1) t.externalLocation = external.find(([k]) => k === 'location')?.[1] ?? '(no location given)';
  return t;
}

function parseValueInfo(r: ProtoReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0, shape: null };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) v.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) {
      // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2).
      const tp = r.message(`${r.where}.type`);
      while (!tp.done) {
        const a = tp.tag();
        if (a.field !== 1 || a.wire !== WIRE_LEN) {
          tp.skip(a.wire);
          continue;
        }
        const tt = tp.message(`${r.where}.type.tensor_type`);
        while (!tt.done) {
          const b = tt.tag();
          if (b.field === 1 && b.wire === WIRE_VARINT) v.elemType = tt.int64();
          else if (b.field === 2 && b.wire === WIRE_LEN) {
            v.shape = [];
            const sh = tt.message(`${r.where}.type.tensor_type.shape`);
            while (!sh.done) {
              const c = sh.tag();
              if (c.field !== 1 || c.wire !== WIRE_LEN) {
                sh.skip(c.wire);
                continue;
              }
              const d = sh.message(`${r.where}.type.tensor_type.shape.dim`);
              let dim: number | string = '?';
              while (!d.done) {
                const e = d.tag();
                if (e.field === 1 && e.wire === WIRE_VARINT) dim = d.int64();
                else if (e.field === 2 && e.wire === WIRE_LEN) dim = d.string();
                else d.skip(e.wire);
              }
              v.shape.push(dim);
            }
          } else tt.skip(b.wire);
        }
      }
    } else r.skip(wire);
  }
  return v;
}

// ---- tensor payloads ----------------------------------------------------------------------------------------

function dtypeName(t: number): string {
  return ONNX_DTYPES[t] ?? `data_type ${t}`;
}

function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function fmt(dims: readonly (number | string)[]): string {
  return `[${dims.join(', ')}]`;
}

function checkStored(t: OnnxTensor, what: string): void {
  if (t.externalLocation !== null) {
    throw new TesseraError(
      OP,
      `${what} '${t.name}' keeps its data in an external file ('${t.externalLocation}'); this importer reads self-contained models only: re-save it with onnx.save_model(model, path, save_as_external_data=False) (models over 2 GB cannot be; AlexNet is 240 MB)`,
    );
  }
  for (const d of t.dims) if (!Number.isInteger(d) || d < 0) throw new TesseraError(OP, `${what} '${t.name}' has invalid dims ${fmt(t.dims)}`);
}

function checkCount(t: OnnxTensor, what: string, got: number, field: string): void {
  const want = numel(t.dims);
  if (got !== want) {
    throw new TesseraError(
      OP,
      `${what} '${t.name}' (${dtypeName(t.dataType)} ${fmt(t.dims)}) needs ${want} values but ${field} holds ${got}: the file is truncated or corrupt`,
    );
  }
}

function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let f16Table: Float32Array | null = null;

/** All 65536 binary16 values as float32 (256 KiB, built on first use): decoding fc6 is then a table lookup. */
function f16Lut(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

/** A tensor's values as float32 (FLOAT, FLOAT16, BFLOAT16 or DOUBLE; DOUBLE is rounded). */
export function onnxTensorToFloat32(t: OnnxTensor, what = 'tensor'): Float32Array {
  checkStored(t, what);
  const n = numel(t.dims);
  const raw = t.rawData;
  switch (t.dataType) {
    case 1: {
      if (raw) {
        checkCount(t, what, raw.length / 4, 'raw_data');
        return decodeFloat32LE(raw);
      }
      const out = new Float32Array(t.floatData.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of t.floatData) {
        out.set(c, o);
        o += c.length;
      }
      checkCount(t, what, out.length, 'float_data');
      return out;
    }
    case 10:
    case 16: {
      const half = t.dataType === 10;
      const out = new Float32Array(n);
      if (raw) {
        checkCount(t, what, raw.length / 2, 'raw_data');
        if (half) {
          const lut = f16Lut();
          for (let i = 0; i < n; i++) out[i] = lut[raw[2 * i]! | (raw[2 * i + 1]! << 8)]!;
        } else {
          const u = new Uint32Array(out.buffer);
          for (let i = 0; i < n; i++) u[i] = ((raw[2 * i]! | (raw[2 * i + 1]! << 8)) << 16) >>> 0;
        }
        return out;
      }
      // Without raw_data, 16-bit floats are stored one per int32_data element (their bit pattern).
      checkCount(t, what, t.int32Data.length, 'int32_data');
      if (half) {
        const lut = f16Lut();
        for (let i = 0; i < n; i++) out[i] = lut[t.int32Data[i]! & 0xffff]!;
      } else {
        const u = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) u[i] = ((t.int32Data[i]! & 0xffff) << 16) >>> 0;
      }
      return out;
    }
    case 11: {
      const src = raw ? decodeFloat64LE(raw) : t.doubleData;
      checkCount(t, what, raw ? raw.length / 8 : src.length, raw ? 'raw_data' : 'double_data');
      return Float32Array.from(src);
    }
    default:
      throw new TesseraError(OP, `${what} '${t.name}' is ${dtypeName(t.dataType)}; expected a float tensor (FLOAT, FLOAT16, BFLOAT16 or DOUBLE)`);
  }
}

/** An integer tensor's values (INT64 or INT32), e.g. a Reshape target. */
export function onnxTensorToInts(t: OnnxTensor, what = 'tensor'): number[] {
  checkStored(t, what);
  const raw = t.rawData;
  if (t.dataType === 7) {
    if (!raw) {
      checkCount(t, what, t.int64Data.length, 'int64_data');
      return t.int64Data.slice();
    }
    checkCount(t, what, raw.length / 8, 'raw_data');
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
    const out: number[] = [];
    for (let i = 0; i < raw.length; i += 8) out.push(Number(dv.getBigInt64(i, true)));
    return out;
  }
  if (t.dataType === 6) {
    if (!raw) {
      checkCount(t, what, t.int32Data.length, 'int32_data');
      return t.int32Data.slice();
    }
    checkCount(t, what, raw.length / 4, 'raw_data');
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
    const out: number[] = [];
    for (let i = 0; i < raw.length; i += 4) out.push(dv.getInt32(i, true));
    return out;
  }
  throw new TesseraError(OP, `${what} '${t.name}' is ${dtypeName(t.dataType)}; expected INT64 or INT32`);
}

// ---- the import ---------------------------------------------------------------------------------------------

export type OnnxAlexNetVariant = 'paper' | 'torchvision';

export interface ImportOnnxOptions {
  /** Require this variant (otherwise it is detected from the convolution widths and groups). */
  variant?: OnnxAlexNetVariant;
  /** Backend for the returned tensors (default: the current backend). */
  backend?: string;
}

/** An LRN layer of the graph, in ONNX / PyTorch / our convention: b = a / (k + alpha/size · Σ a²)^beta. */
export interface OnnxLrn {
  /** The ONNX node, e.g. `LRN node 'norm1'`, or for torch's expansion of nn.LocalResponseNorm the Div ending it. */
  node: string;
  /** Our module it corresponds to (`features.2`, `features.6`). */
  layer: string;
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

export interface OnnxImportReport {
  /** producer_name and producer_version, e.g. `pytorch 1.13.0`. */
  producer: string;
  irVersion: number;
  /** The default-domain opset, null when the file declares none. */
  opset: number | null;
  graphName: string;
  /** The graph's input as declared (name and shape, symbolic dims as strings). */
  input: { name: string; shape: (number | string)[] | null };
  /** The graph's output; `softmax` when the graph ends in (Log)Softmax, whereas our model returns logits. */
  output: { name: string; softmax: boolean };
  /** One line per recognised layer: ONNX node(s) → our module. */
  layers: string[];
  /** ONNX data types the weights were stored in (all are converted to float32). */
  weightTypes: string[];
  /** Anything a careful user should know (ceil-mode pooling pads, folded Gemm scales, LRN constants, …). */
  notes: string[];
}

export interface OnnxImport {
  variant: OnnxAlexNetVariant;
  /** Our state-dict keys → float32 tensors (yours to dispose). */
  stateDict: Map<string, Tensor>;
  numClasses: number;
  /** Paper variant: conv1's padding, 0 for BVLC's 227×227 input, 2 for 224×224. */
  conv1Padding?: number;
  /** The graph's LRN layers (paper variant: after conv1 and conv2; none for torchvision). */
  lrn: OnnxLrn[];
  report: OnnxImportReport;
}

/** Result of loadOnnxInto: the import minus the (already loaded and released) tensors. */
export interface OnnxLoadResult extends Omit<OnnxImport, 'stateDict'> {
  /** Whether `lrn: 'graph'` set the model's LRN layers to the graph's constants (false when the graph has none). */
  lrnApplied: boolean;
  /** Whether the model's LRN layers now compute what the graph's do (true when there are none). */
  lrnMatchesGraph: boolean;
}

export interface LoadOnnxOptions {
  /**
   * `keep` (default): leave the model's LRN layers as they are (ours are the paper's, k = 2, α = 1e-4 undivided);
   * `graph`: replace them with the graph's constants (BVLC: k = 1, α = 1e-4 divided by n), which is what
   * reproduces the ONNX model's outputs.
   */
  lrn?: 'keep' | 'graph';
}

type Kind = 'conv' | 'relu' | 'lrn' | 'maxpool' | 'avgpool' | 'flatten' | 'fc' | 'softmax';

interface Layer {
  kind: Kind;
  /** Human-readable node reference(s). */
  label: string;
  node: OnnxNode;
  // conv / fc
  weight?: Float32Array;
  weightDims?: number[];
  bias?: Float32Array | null;
  // conv / pools
  kernel?: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
  ceilMode?: boolean;
  // lrn
  lrn?: { size: number; alpha: number; beta: number; k: number };
  // fc
  out?: number;
  in?: number;
  // flatten: the Reshape target when constant
  reshapeTo?: number[] | null;
  notes?: string[];
}

function describeNode(n: OnnxNode, index?: number): string {
  const id = n.name !== '' ? `'${n.name}'` : index !== undefined ? `#${index}` : `(unnamed, output '${n.outputs[0] ?? ''}')`;
  return `${n.opType} node ${id}`;
}

function attr(n: OnnxNode, name: string): OnnxAttribute | undefined {
  return n.attributes.get(name);
}

function attrInt(n: OnnxNode, name: string, dflt: number): number {
  const a = attr(n, name);
  if (!a) return dflt;
  if (a.i === null) throw new TesseraError(OP, `${describeNode(n)}: attribute ${name} should be an int`);
  return a.i;
}

function attrFloat(n: OnnxNode, name: string, dflt: number): number {
  const a = attr(n, name);
  if (!a) return dflt;
  if (a.f !== null) return a.f;
  if (a.i !== null) return a.i;
  throw new TesseraError(OP, `${describeNode(n)}: attribute ${name} should be a float`);
}

function attrInts(n: OnnxNode, name: string, dflt: number[] | null): number[] | null {
  const a = attr(n, name);
  if (!a) return dflt;
  return a.ints.slice();
}

function attrString(n: OnnxNode, name: string, dflt: string): string {
  const a = attr(n, name);
  if (!a || a.s === null) return dflt;
  return new TextDecoder().decode(a.s);
}

/** Expected per-layer geometry for each variant. */
interface ConvSpec {
  key: string;
  out: number;
  inPerGroup: number;
  k: number;
  stride: number;
  pads: number[];
  group: number;
}

const SPECS: Record<OnnxAlexNetVariant, { convs: ConvSpec[]; fcKeys: [string, string, string]; lrnKeys: string[]; pattern: string[] }> = {
  paper: {
    convs: [
      { key: 'features.0', out: 96, inPerGroup: 3, k: 11, stride: 4, pads: [0, 2], group: 1 },
      { key: 'features.4', out: 256, inPerGroup: 48, k: 5, stride: 1, pads: [2], group: 2 },
      { key: 'features.8', out: 384, inPerGroup: 256, k: 3, stride: 1, pads: [1], group: 1 },
      { key: 'features.10', out: 384, inPerGroup: 192, k: 3, stride: 1, pads: [1], group: 2 },
      { key: 'features.12', out: 256, inPerGroup: 192, k: 3, stride: 1, pads: [1], group: 2 },
    ],
    fcKeys: ['classifier.0', 'classifier.3', 'classifier.6'],
    lrnKeys: ['features.2', 'features.6'],
    pattern: 'conv relu lrn maxpool conv relu lrn maxpool conv relu conv relu conv relu maxpool flatten fc relu fc relu fc'.split(' '),
  },
  torchvision: {
    convs: [
      { key: 'features.0', out: 64, inPerGroup: 3, k: 11, stride: 4, pads: [2], group: 1 },
      { key: 'features.3', out: 192, inPerGroup: 64, k: 5, stride: 1, pads: [2], group: 1 },
      { key: 'features.6', out: 384, inPerGroup: 192, k: 3, stride: 1, pads: [1], group: 1 },
      { key: 'features.8', out: 256, inPerGroup: 384, k: 3, stride: 1, pads: [1], group: 1 },
      { key: 'features.10', out: 256, inPerGroup: 256, k: 3, stride: 1, pads: [1], group: 1 },
    ],
    fcKeys: ['classifier.1', 'classifier.4', 'classifier.6'],
    lrnKeys: [],
    pattern: 'conv relu maxpool conv relu maxpool conv relu conv relu conv relu maxpool avgpool? flatten fc relu fc relu fc'.split(' '),
  },
};

const FC_HIDDEN = 4096;
const FC_IN = 256 * 6 * 6;
const LRN_DECOMPOSITION_OPS = new Set([
  'Mul',
  'Unsqueeze',
  'Reshape',
  'Pad',
  'AveragePool',
  'Shape',
  'Gather',
  'Equal',
  'If',
  'Squeeze',
  'Identity',
  'Add',
  'Pow',
  'Cast',
  'Concat',
  'Slice',
  'Transpose',
  'ConstantOfShape',
  'Constant',
]);

class GraphIndex {
  readonly producer = new Map<string, number>();
  readonly consumers = new Map<string, number[]>();

  constructor(
    readonly graph: OnnxGraph,
    readonly weightTypes: Set<string>,
  ) {
    graph.nodes.forEach((n, i) => {
      for (const o of n.outputs) if (o !== '') this.producer.set(o, i);
      for (const v of n.inputs) {
        if (v === '') continue;
        const list = this.consumers.get(v);
        if (list) {
          if (!list.includes(i)) list.push(i);
        } else this.consumers.set(v, [i]);
      }
    });
  }

  node(i: number): OnnxNode {
    return this.graph.nodes[i]!;
  }

  label(i: number): string {
    return describeNode(this.node(i), i);
  }

  /** The constant tensor behind a value: an initializer, a Constant node's value, or either through Identity. */
  constant(name: string): OnnxTensor | null {
    for (let hops = 0; hops < 16; hops++) {
      const init = this.graph.initializers.get(name);
      if (init) return init;
      const p = this.producer.get(name);
      if (p === undefined) return null;
      const n = this.node(p);
      if (n.opType === 'Identity' && n.inputs[0]) {
        name = n.inputs[0];
        continue;
      }
      if (n.opType !== 'Constant') return null;
      const v = attr(n, 'value');
      if (v?.t) return { ...v.t, name };
      const vf = attr(n, 'value_float') ?? attr(n, 'value_floats');
      if (vf) {
        const vals = vf.f !== null ? [vf.f] : vf.floats;
        return { ...emptyTensor(name, vf.f !== null ? [] : [vals.length], 1), floatData: [vals] };
      }
      const vi = attr(n, 'value_int') ?? attr(n, 'value_ints');
      if (vi) {
        const vals = vi.i !== null ? [vi.i] : vi.ints;
        return { ...emptyTensor(name, vi.i !== null ? [] : [vals.length], 7), int64Data: vals };
      }
      throw new TesseraError(OP, `${describeNode(n, p)} has no value / value_float(s) / value_int(s) attribute this importer can read`);
    }
    throw new TesseraError(OP, `value '${name}' is behind more than 16 Identity nodes`);
  }

  /** A float weight by value name, with its dims; errors name the node and role. */
  weight(name: string | undefined, nodeIdx: number, role: string): { data: Float32Array; dims: number[] } {
    const where = `${this.label(nodeIdx)}: ${role}`;
    if (!name) throw new TesseraError(OP, `${where} is missing`);
    const t = this.constant(name);
    if (!t) {
      throw new TesseraError(
        OP,
        `${where} '${name}' is neither an initializer nor a Constant node (a model exported with export_params=False, or the weight is computed at run time); the importer needs the weights stored in the file`,
      );
    }
    this.weightTypes.add(dtypeName(t.dataType));
    return { data: onnxTensorToFloat32(t, `${where}`), dims: t.dims.slice() };
  }

  /** A scalar float constant (an initializer / Constant with one element), or null. */
  scalar(name: string | undefined): number | null {
    if (!name) return null;
    const t = this.constant(name);
    if (!t || numel(t.dims) !== 1) return null;
    if (t.dataType === 7 || t.dataType === 6) return onnxTensorToInts(t)[0] ?? null;
    return onnxTensorToFloat32(t)[0] ?? null;
  }
}

function emptyTensor(name: string, dims: number[], dataType: number): OnnxTensor {
  return { name, dims, dataType, rawData: null, floatData: [], int32Data: [], int64Data: [], doubleData: [], externalLocation: null };
}

/** Symmetric 2-D padding from pads / auto_pad; null when not symmetric. */
function convPads(n: OnnxNode, kernel: number[], strides: number[]): number[] {
  const auto = attrString(n, 'auto_pad', 'NOTSET');
  if (auto === 'NOTSET' || auto === '') return attrInts(n, 'pads', [0, 0, 0, 0])!;
  if (auto === 'VALID') return [0, 0, 0, 0];
  if ((auto === 'SAME_UPPER' || auto === 'SAME_LOWER') && strides.every((s) => s === 1) && kernel.every((k) => k % 2 === 1)) {
    const p = kernel.map((k) => (k - 1) / 2);
    return [...p, ...p];
  }
  throw new TesseraError(
    OP,
    `${describeNode(n)}: auto_pad ${auto} with strides ${fmt(strides)} and kernel ${fmt(kernel)} is not a symmetric padding AlexNet can use`,
  );
}

/**
 * Walks the graph from its single runtime input along the single chain of data-carrying nodes, turning each
 * into a Layer (weights decoded). Branches, unknown ops and weights that are not constants are errors.
 */
function walk(model: OnnxModel, weightTypes: Set<string>): { layers: Layer[]; input: OnnxValueInfo; output: string } {
  const g = model.graph;
  const ix = new GraphIndex(g, weightTypes);
  const runtimeInputs = g.inputs.filter((v) => !g.initializers.has(v.name) && !ix.producer.has(v.name));
  if (runtimeInputs.length !== 1) {
    throw new TesseraError(
      OP,
      runtimeInputs.length === 0
        ? `graph '${g.name}' has no runtime input (every input is an initializer); AlexNet takes one image batch`
        : `graph '${g.name}' has ${runtimeInputs.length} runtime inputs (${runtimeInputs.map((v) => `'${v.name}'`).join(', ')}); AlexNet takes one image batch`,
    );
  }
  const input = runtimeInputs[0]!;
  const outputs = new Set(g.outputs.map((o) => o.name));
  const layers: Layer[] = [];
  const visited = new Set<number>();
  let cur = input.name;

  const dataConsumers = (v: string): number[] => (ix.consumers.get(v) ?? []).filter((i) => ix.node(i).opType !== 'Shape');
  const single = (v: string, from: string): number | null => {
    const cons = dataConsumers(v);
    if (cons.length === 0) return null;
    if (cons.length > 1) {
      throw new TesseraError(
        OP,
        `value '${v}' (${from}) feeds ${cons.length} nodes: ${cons.map((i) => ix.label(i)).join(', ')}; AlexNet is a single chain without branches or skip connections`,
      );
    }
    return cons[0]!;
  };

  for (;;) {
    const from = layers.length === 0 ? 'the graph input' : `output of ${layers.at(-1)!.label}`;
    const cons = dataConsumers(cur);
    if (cons.length === 0) {
      if (!outputs.has(cur)) throw new TesseraError(OP, `value '${cur}' (${from}) is neither consumed nor a graph output; the graph is disconnected`);
      break;
    }
    // torch.onnx's decomposition of nn.LocalResponseNorm: x feeds Mul(x, x) → … → Div(x, ·).
    if (cons.length === 2) {
      const lrn = matchTorchLrn(ix, cur, cons as [number, number], visited);
      if (lrn) {
        layers.push(lrn.layer);
        cur = lrn.output;
        continue;
      }
    }
    const i = single(cur, from)!;
    if (visited.has(i)) throw new TesseraError(OP, `${ix.label(i)} is reached twice: the graph has a cycle`);
    visited.add(i);
    const n = ix.node(i);
    const label = ix.label(i);
    const dataInput = n.inputs.indexOf(cur);
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      throw new TesseraError(OP, `${label} is in operator domain '${n.domain}'; AlexNet uses standard ONNX operators only`);
    }
    if (dataInput !== 0 && !(n.opType === 'Add' && dataInput === 1)) {
      throw new TesseraError(OP, `${label} takes '${cur}' as input #${dataInput}; expected it as the data input (#0)`);
    }
    const out = n.outputs[0];
    if (!out) throw new TesseraError(OP, `${label} has no output`);
    const layer: Layer = { kind: 'relu', label, node: n };
    switch (n.opType) {
      case 'Conv': {
        const w = ix.weight(n.inputs[1], i, 'weight (input #1)');
        if (w.dims.length !== 4)
          throw new TesseraError(OP, `${label}: weight '${n.inputs[1]}' is ${fmt(w.dims)}; a 2-D convolution's weight is [out, in/groups, kH, kW]`);
        const b = n.inputs[2] ? ix.weight(n.inputs[2], i, 'bias (input #2)') : null;
        if (b && (b.dims.length !== 1 || b.dims[0] !== w.dims[0])) {
          throw new TesseraError(OP, `${label}: bias '${n.inputs[2]}' is ${fmt(b.dims)}, expected [${w.dims[0]}]`);
        }
        const kernel = attrInts(n, 'kernel_shape', null) ?? w.dims.slice(2);
        const strides = attrInts(n, 'strides', [1, 1])!;
        Object.assign(layer, {
          kind: 'conv',
          weight: w.data,
          weightDims: w.dims,
          bias: b?.data ?? null,
          kernel,
          strides,
          pads: convPads(n, kernel, strides),
          dilations: attrInts(n, 'dilations', [1, 1]),
          group: attrInt(n, 'group', 1),
        });
        break;
      }
      case 'Relu':
        break;
      case 'LRN': {
        const size = attrInt(n, 'size', 0);
        if (!(size >= 1)) throw new TesseraError(OP, `${label}: attribute size is missing or not positive`);
        if (size % 2 === 0) {
          throw new TesseraError(OP, `${label}: LRN size ${size} is even; ONNX and PyTorch centre even windows differently, so only odd sizes import exactly`);
        }
        Object.assign(layer, {
          kind: 'lrn',
          lrn: { size, alpha: attrFloat(n, 'alpha', 1e-4), beta: attrFloat(n, 'beta', 0.75), k: attrFloat(n, 'bias', 1) },
        });
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        if (n.outputs[1] && (ix.consumers.get(n.outputs[1])?.length || outputs.has(n.outputs[1]))) {
          throw new TesseraError(OP, `${label}: its Indices output '${n.outputs[1]}' is used; AlexNet's pooling has no second output`);
        }
        const kernel = attrInts(n, 'kernel_shape', null);
        if (!kernel) throw new TesseraError(OP, `${label}: attribute kernel_shape is missing`);
        const strides = attrInts(
          n,
          'strides',
          kernel.map(() => 1),
        )!;
        const auto = attrString(n, 'auto_pad', 'NOTSET');
        if (auto !== 'NOTSET' && auto !== '' && auto !== 'VALID') throw new TesseraError(OP, `${label}: auto_pad ${auto} is not supported for pooling`);
        Object.assign(layer, {
          kind: n.opType === 'MaxPool' ? 'maxpool' : 'avgpool',
          kernel,
          strides,
          pads: auto === 'VALID' ? kernel.map(() => 0).concat(kernel.map(() => 0)) : attrInts(n, 'pads', [...kernel.map(() => 0), ...kernel.map(() => 0)]),
          dilations: attrInts(
            n,
            'dilations',
            kernel.map(() => 1),
          ),
          ceilMode: attrInt(n, 'ceil_mode', 0) !== 0,
        });
        if (n.opType === 'AveragePool' && attrInt(n, 'count_include_pad', 0) !== 0) layer.notes = ['count_include_pad=1'];
        break;
      }
      case 'Dropout':
      case 'Identity':
        if (n.opType === 'Dropout' && n.outputs[1] && ix.consumers.get(n.outputs[1])?.length) {
          throw new TesseraError(OP, `${label}: its mask output '${n.outputs[1]}' is used; expected an inference graph`);
        }
        cur = out;
        continue;
      case 'Flatten': {
        const axis = attrInt(n, 'axis', 1);
        if (axis !== 1) throw new TesseraError(OP, `${label}: Flatten axis ${axis}; AlexNet flattens [N, 256, 6, 6] with axis 1`);
        Object.assign(layer, { kind: 'flatten', reshapeTo: null });
        break;
      }
      case 'Reshape': {
        let target: number[] | null = attrInts(n, 'shape', null);
        if (!target && n.inputs[1]) {
          const c = ix.constant(n.inputs[1]);
          target = c ? onnxTensorToInts(c, `${label}: shape`) : null;
        }
        Object.assign(layer, { kind: 'flatten', reshapeTo: target });
        break;
      }
      case 'Gemm': {
        if (attrInt(n, 'transA', 0) !== 0) throw new TesseraError(OP, `${label}: transA=1; expected the activations as A [N, in]`);
        const transB = attrInt(n, 'transB', 0) !== 0;
        const alpha = attrFloat(n, 'alpha', 1);
        const beta = attrFloat(n, 'beta', 1);
        const w = ix.weight(n.inputs[1], i, 'B (input #1)');
        if (w.dims.length !== 2) throw new TesseraError(OP, `${label}: B '${n.inputs[1]}' is ${fmt(w.dims)}, expected a matrix`);
        const [outF, inF] = transB ? [w.dims[0]!, w.dims[1]!] : [w.dims[1]!, w.dims[0]!];
        const weight = transB ? w.data : transpose(w.data, inF, outF);
        if (alpha !== 1) for (let j = 0; j < weight.length; j++) weight[j]! *= alpha;
        let bias: Float32Array | null = null;
        if (n.inputs[2]) {
          const c = ix.weight(n.inputs[2], i, 'C (input #2)');
          bias = broadcastBias(c.data, c.dims, outF, `${label}: C '${n.inputs[2]}'`);
          if (beta !== 1) for (let j = 0; j < bias.length; j++) bias[j]! *= beta;
        }
        const notes: string[] = [];
        if (!transB) notes.push('B stored [in, out] (transB=0): transposed');
        if (alpha !== 1 || (beta !== 1 && bias)) notes.push(`alpha=${alpha}, beta=${beta} folded into the weight and bias`);
        Object.assign(layer, { kind: 'fc', weight, weightDims: [outF, inF], bias, out: outF, in: inF, notes });
        break;
      }
      case 'MatMul': {
        const w = ix.weight(n.inputs[1], i, 'B (input #1)');
        if (w.dims.length !== 2) throw new TesseraError(OP, `${label}: B '${n.inputs[1]}' is ${fmt(w.dims)}, expected a matrix [in, out]`);
        const [inF, outF] = [w.dims[0]!, w.dims[1]!];
        const weight = transpose(w.data, inF, outF);
        let bias: Float32Array | null = null;
        let end = out;
        const next = single(out, `output of ${label}`);
        const addNode = next === null ? null : ix.node(next);
        if (next !== null && addNode?.opType === 'Add') {
          const other = addNode.inputs[0] === out ? addNode.inputs[1] : addNode.inputs[0];
          const c = other !== undefined && other !== out ? ix.constant(other) : null;
          if (c) {
            const bw = ix.weight(other, next, 'bias');
            bias = broadcastBias(bw.data, bw.dims, outF, `${ix.label(next)}: '${other}'`);
            visited.add(next);
            end = addNode.outputs[0] ?? out;
            layer.label = `${label} + ${ix.label(next)}`;
          }
        }
        Object.assign(layer, { kind: 'fc', weight, weightDims: [outF, inF], bias, out: outF, in: inF, notes: ['MatMul weight [in, out] transposed'] });
        layers.push(layer);
        cur = end;
        continue;
      }
      case 'Softmax':
      case 'LogSoftmax':
        layer.kind = 'softmax';
        break;
      default: {
        const quant = /^(QLinear|Dequantize|Quantize|ConvInteger|MatMulInteger|DynamicQuantize)/.test(n.opType);
        throw new TesseraError(
          OP,
          quant
            ? `${label}: ${n.opType} is a quantised operator; import the float32 model instead`
            : `${label} (after ${from}): op type ${n.opType} is not part of AlexNet (expected Conv, Relu, LRN, MaxPool, AveragePool, Flatten/Reshape, Gemm or MatMul+Add, Dropout, Softmax)`,
        );
      }
    }
    layers.push(layer);
    cur = out;
  }
  return { layers, input, output: cur };
}

/**
 * Recognises torch.onnx.export's expansion of F.local_response_norm (torch has no LRN symbolic): x feeds
 * Mul(x, x) → Unsqueeze → Pad → AveragePool[size, 1, 1] → … → Mul(alpha) → Add(k) → Pow(beta) → Div(x, ·).
 * Returns null when `cur`'s two consumers are not that shape.
 */
function matchTorchLrn(ix: GraphIndex, cur: string, cons: [number, number], visited: Set<number>): { layer: Layer; output: string } | null {
  const [a, b] = cons.map((i) => ix.node(i)) as [OnnxNode, OnnxNode];
  const sq =
    a.opType === 'Mul' && a.inputs[0] === cur && a.inputs[1] === cur
      ? cons[0]
      : b.opType === 'Mul' && b.inputs[0] === cur && b.inputs[1] === cur
        ? cons[1]
        : -1;
  const divIdx = sq === cons[0] ? cons[1] : cons[0];
  const div = ix.node(divIdx);
  if (sq < 0 || div.opType !== 'Div' || div.inputs[0] !== cur || !div.inputs[1]) return null;
  // Nodes between the square and the divisor: descendants of Mul that are ancestors of Div's input #1.
  const down = new Set<number>([sq]);
  const stack = [sq];
  while (stack.length > 0) {
    const i = stack.pop()!;
    for (const o of ix.node(i).outputs) {
      for (const c of ix.consumers.get(o) ?? []) {
        if (c === divIdx || down.has(c)) continue;
        down.add(c);
        stack.push(c);
      }
    }
  }
  const region = new Set<number>();
  const back = [div.inputs[1]];
  const seen = new Set<string>();
  while (back.length > 0) {
    const v = back.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const p = ix.producer.get(v);
    if (p === undefined || !down.has(p)) continue;
    region.add(p);
    for (const inp of ix.node(p).inputs) if (inp !== '') back.push(inp);
  }
  region.add(sq);
  const label = `torch LocalResponseNorm expansion ending in ${ix.label(divIdx)}`;
  const fail = (msg: string): never => {
    throw new TesseraError(OP, `value '${cur}' feeds Mul(x, x) and Div(x, ·) like torch's nn.LocalResponseNorm export, but ${msg}`);
  };
  for (const i of region) {
    const n = ix.node(i);
    if (!LRN_DECOMPOSITION_OPS.has(n.opType)) fail(`${ix.label(i)} (${n.opType}) is not part of that pattern`);
    // Nothing inside may leak out to other parts of the graph.
    for (const o of n.outputs) {
      for (const c of ix.consumers.get(o) ?? []) if (!region.has(c) && c !== divIdx) fail(`${ix.label(i)} also feeds ${ix.label(c)}`);
    }
  }
  const ofType = (t: string) => [...region].filter((i) => ix.node(i).opType === t && i !== sq);
  const pools = ofType('AveragePool');
  if (pools.length !== 1) fail(`it has ${pools.length} AveragePool nodes, expected 1 (the sum over the channel window)`);
  const pool = ix.node(pools[0]!);
  const ks = attrInts(pool, 'kernel_shape', null) ?? [];
  if (ks.length < 2 || ks.slice(1).some((k) => k !== 1)) fail(`${ix.label(pools[0]!)} has kernel_shape ${fmt(ks)}; expected [size, 1, 1] over channels`);
  const size = ks[0]!;
  // alpha, k and beta: the one float scalar constant operand of the region's Mul (other than x·x), Add and Pow.
  const scalarOf = (t: string, what: string): number => {
    const found: number[] = [];
    for (const i of ofType(t)) {
      for (const inp of ix.node(i).inputs) {
        const c = inp === '' ? null : ix.constant(inp);
        if (c && numel(c.dims) === 1 && c.dataType !== 7 && c.dataType !== 6) found.push(f32Decimal(onnxTensorToFloat32(c, `${ix.label(i)}: ${what}`)[0]!));
      }
    }
    if (found.length !== 1) fail(`found ${found.length} ${t} nodes with a scalar float constant, expected 1 (${what})`);
    return found[0]!;
  };
  const alpha = scalarOf('Mul', 'alpha');
  const k = scalarOf('Add', 'k');
  const beta = scalarOf('Pow', 'beta');
  for (const i of region) visited.add(i);
  visited.add(divIdx);
  const out = div.outputs[0];
  if (!out) fail(`${ix.label(divIdx)} has no output`);
  return { layer: { kind: 'lrn', label, node: div, lrn: { size, alpha, beta, k } }, output: out! };
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

function broadcastBias(data: Float32Array, dims: number[], out: number, what: string): Float32Array {
  const n = numel(dims);
  if (n === out && dims.filter((d) => d !== 1).length <= 1) return data;
  if (n === 1) return new Float32Array(out).fill(data[0]!);
  throw new TesseraError(OP, `${what} is ${fmt(dims)}; expected a bias of ${out} values`);
}

function eqList(a: readonly number[] | null | undefined, b: readonly number[]): boolean {
  return !!a && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Everything importOnnx returns, with the weights still as arrays (so callers can check before allocating). */
interface Analysis extends Omit<OnnxImport, 'stateDict'> {
  arrays: Map<string, { data: Float32Array; shape: number[] }>;
}

/** Parses, walks and checks the graph; maps its weights to our keys. */
function analyse(bytes: Uint8Array, requested: OnnxAlexNetVariant | undefined): Analysis {
  if (requested !== undefined && requested !== 'paper' && requested !== 'torchvision') {
    throw new TesseraError(OP, `variant must be 'paper' or 'torchvision', got ${JSON.stringify(requested)}`);
  }
  const model = parseOnnxModel(bytes);
  const weightTypes = new Set<string>();
  const { layers, input, output } = walk(model, weightTypes);
  const notes: string[] = [];

  const seq = layers.map((l) => `${l.kind}`).join(' → ');
  const convs = layers.filter((l) => l.kind === 'conv');
  if (convs.length !== 5) {
    throw new TesseraError(
      OP,
      `found ${convs.length} Conv node(s) on the path from the input (${seq || 'no layers'}); AlexNet has 5 convolutions followed by 3 fully connected layers`,
    );
  }
  const widths = convs.map((c) => c.weightDims![0]!);
  const groups = convs.map((c) => c.group!);
  const matches = (v: OnnxAlexNetVariant) => SPECS[v].convs.every((s, j) => s.out === widths[j] && s.group === groups[j]);
  const detected: OnnxAlexNetVariant | null = matches('paper') ? 'paper' : matches('torchvision') ? 'torchvision' : null;
  const widthsText = `widths ${widths.join('-')} with groups ${groups.join('-')}`;
  if (!detected) {
    throw new TesseraError(
      OP,
      `the convolutions have ${widthsText}; expected the paper / BVLC AlexNet (96-256-384-384-256, groups 1-2-1-2-2) or torchvision's (64-192-384-256-256, groups 1)`,
    );
  }
  if (requested && requested !== detected) {
    throw new TesseraError(OP, `the graph is the ${detected} AlexNet (${widthsText}), but variant '${requested}' was requested`);
  }
  const variant = detected;
  const spec = SPECS[variant];

  // The layer sequence, with the optional trailing softmax and (torchvision) adaptive-pool stand-in.
  let body = layers;
  const softmax = body.at(-1)?.kind === 'softmax';
  if (softmax) body = body.slice(0, -1);
  const pattern = spec.pattern;
  let p = 0;
  for (let j = 0; j <= body.length; j++) {
    const l = body[j];
    while (p < pattern.length && pattern[p]!.endsWith('?') && l?.kind !== pattern[p]!.slice(0, -1)) p++;
    const want = pattern[p]?.replace('?', '');
    if (l === undefined && want === undefined) break;
    if (l?.kind !== want) {
      const got = l ? `${l.label} (${l.kind})` : 'the end of the graph';
      let hint = '';
      if (variant === 'paper' && l?.kind === 'maxpool' && want === 'lrn' && body[j + 1]?.kind === 'lrn') {
        hint = ' — pooling before normalisation is CaffeNet (bvlc_reference_caffenet), which our paper AlexNet does not express';
      } else if (variant === 'torchvision' && l?.kind === 'lrn') hint = ' — torchvision AlexNet has no LRN';
      throw new TesseraError(
        OP,
        `layer ${j + 1} of the ${variant} AlexNet should be ${want ?? 'the end of the graph'} but the graph has ${got}${hint}. Found: ${seq}. Expected: ${pattern.join(' → ')}`,
      );
    }
    p++;
  }

  // Geometry of each layer.
  const stateDict = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  const lines: string[] = [];
  let conv1Padding: number | undefined;
  convs.forEach((c, j) => {
    const s = spec.convs[j]!;
    const want = [s.out, s.inPerGroup, s.k, s.k];
    if (!eqList(c.weightDims, want)) {
      throw new TesseraError(OP, `${c.label} (conv${j + 1}, ${s.key}) has weight ${fmt(c.weightDims!)}; the ${variant} AlexNet needs ${fmt(want)}`);
    }
    if (!eqList(c.kernel, [s.k, s.k])) throw new TesseraError(OP, `${c.label} (conv${j + 1}) has kernel_shape ${fmt(c.kernel!)}, expected [${s.k}, ${s.k}]`);
    if (!eqList(c.strides, [s.stride, s.stride]))
      throw new TesseraError(OP, `${c.label} (conv${j + 1}) has strides ${fmt(c.strides!)}, expected [${s.stride}, ${s.stride}]`);
    if (!eqList(c.dilations, [1, 1])) throw new TesseraError(OP, `${c.label} (conv${j + 1}) has dilations ${fmt(c.dilations ?? [])}, expected [1, 1]`);
    const pads = c.pads!;
    if (pads.length !== 4 || !pads.every((v) => v === pads[0]) || !s.pads.includes(pads[0]!)) {
      throw new TesseraError(
        OP,
        `${c.label} (conv${j + 1}) has pads ${fmt(pads)}; the ${variant} AlexNet pads ${s.pads.map((v) => fmt([v, v, v, v])).join(' or ')}`,
      );
    }
    if (j === 0 && variant === 'paper') conv1Padding = pads[0]!;
    stateDict.set(`${s.key}.weight`, c.weight!);
    shapes.set(`${s.key}.weight`, want);
    stateDict.set(`${s.key}.bias`, c.bias ?? new Float32Array(s.out));
    shapes.set(`${s.key}.bias`, [s.out]);
    if (!c.bias) notes.push(`${c.label} has no bias; ${s.key}.bias is set to zeros`);
    lines.push(`${c.label}: ${fmt(want)} stride ${s.stride} pad ${pads[0]} groups ${s.group} → ${s.key}`);
  });

  const pools = body.filter((l) => l.kind === 'maxpool');
  for (const m of pools) {
    const pads = m.pads ?? [];
    const begin = pads.slice(0, 2);
    const end = pads.slice(2);
    if (!eqList(m.kernel, [3, 3]) || !eqList(m.strides, [2, 2]) || !eqList(m.dilations, [1, 1])) {
      throw new TesseraError(
        OP,
        `${m.label} has kernel ${fmt(m.kernel ?? [])}, strides ${fmt(m.strides ?? [])}, dilations ${fmt(m.dilations ?? [])}; AlexNet's overlapping pooling is 3×3 with stride 2`,
      );
    }
    // Caffe rounds pooled sizes up; its converters emulate that with a bottom/right pad of 1 (or ceil_mode). On
    // AlexNet's pooled inputs (55, 27, 13: odd, so (n − 3) is even) neither changes the output, so both import.
    const endPadded = end.some((v) => v !== 0);
    if (pads.length !== 4 || begin.some((v) => v !== 0) || end.some((v) => v !== 0 && v !== 1) || (endPadded && m.ceilMode)) {
      throw new TesseraError(
        OP,
        `${m.label} has pads ${fmt(pads)}${m.ceilMode ? ' with ceil_mode=1' : ''}; AlexNet's pooling is unpadded (a bottom/right pad of 1 or ceil_mode alone, Caffe's rounding, is accepted)`,
      );
    }
    if (endPadded || m.ceilMode) {
      notes.push(
        `${m.label} ${endPadded ? `pads bottom/right by ${fmt(end)}` : 'uses ceil_mode'} (Caffe's round-up pooling); on the ${variant} AlexNet's input size the pooled inputs are odd and the output is the same as unpadded floor pooling`,
      );
    }
  }
  lines.push(`${pools.length} × MaxPool 3×3 stride 2`);

  const avg = body.find((l) => l.kind === 'avgpool');
  if (avg) {
    const k = avg.kernel ?? [];
    if (k.length !== 2 || !eqList(avg.strides, k) || !(avg.pads ?? []).every((v) => v === 0) || avg.ceilMode) {
      throw new TesseraError(
        OP,
        `${avg.label} has kernel ${fmt(k)}, strides ${fmt(avg.strides ?? [])}, pads ${fmt(avg.pads ?? [])}; expected torchvision's AdaptiveAvgPool2d(6) exported for an input size where it is a plain k×k / k pool`,
      );
    }
    lines.push(`${avg.label}: ${fmt(k)} → avgpool (AdaptiveAvgPool2d(6))`);
    if (k[0] !== 1 || k[1] !== 1)
      notes.push(
        `${avg.label} averages ${k.join('×')} windows: the graph was exported for a ${6 * k[0]!}×${6 * k[1]!} feature map, i.e. a larger input than 224`,
      );
  }

  const flat = body.find((l) => l.kind === 'flatten')!;
  if (flat.node.opType === 'Reshape') {
    const t = flat.reshapeTo;
    if (t === null || t === undefined) notes.push(`${flat.label} computes its target shape at run time; taken to flatten to [N, ${FC_IN}]`);
    else if (t.length !== 2 || !(t[1] === FC_IN || (t[1] === -1 && t[0] !== -1))) {
      throw new TesseraError(OP, `${flat.label} reshapes to ${fmt(t)}; expected [N, ${FC_IN}] (the 256×6×6 features flattened)`);
    } else if (t[0]! > 0) notes.push(`${flat.label} reshapes to ${fmt(t)}, fixing the batch size to ${t[0]}; our model takes any batch`);
  }
  lines.push(`${flat.label} → flatten(1)`);

  const fcs = body.filter((l) => l.kind === 'fc');
  const numClasses = fcs[2]!.out!;
  const fcWant: [number, number][] = [
    [FC_HIDDEN, FC_IN],
    [FC_HIDDEN, FC_HIDDEN],
    [numClasses, FC_HIDDEN],
  ];
  fcs.forEach((f, j) => {
    const key = spec.fcKeys[j]!;
    const want = fcWant[j]!;
    if (!eqList(f.weightDims, want)) {
      throw new TesseraError(OP, `${f.label} (fc${j + 6}, ${key}) maps ${f.in} → ${f.out} features; the ${variant} AlexNet needs ${want[1]} → ${want[0]}`);
    }
    stateDict.set(`${key}.weight`, f.weight!);
    shapes.set(`${key}.weight`, want);
    stateDict.set(`${key}.bias`, f.bias ?? new Float32Array(want[0]));
    shapes.set(`${key}.bias`, [want[0]]);
    if (!f.bias) notes.push(`${f.label} has no bias; ${key}.bias is set to zeros`);
    for (const nt of f.notes ?? []) notes.push(`${f.label}: ${nt}`);
    lines.push(`${f.label}: ${want[1]} → ${want[0]} → ${key}`);
  });

  const lrnLayers = body.filter((l) => l.kind === 'lrn');
  const lrn: OnnxLrn[] = lrnLayers.map((l, j) => ({ node: l.label, layer: spec.lrnKeys[j]!, ...l.lrn! }));
  for (const l of lrn) {
    lines.push(`${l.node}: LRN size ${l.size}, alpha ${l.alpha} (divided by size), beta ${l.beta}, k ${l.k} → ${l.layer}`);
  }
  if (variant === 'paper') {
    const side = conv1Padding === 0 ? 227 : 224;
    const shape = input.shape;
    if (shape && shape.length === 4 && typeof shape[2] === 'number' && typeof shape[3] === 'number' && (shape[2] !== side || shape[3] !== side)) {
      notes.push(`the graph declares input ${fmt(shape)}; with conv1 padding ${conv1Padding} our paper AlexNet takes ${side}×${side} (BVLC's deploy net: 227)`);
    }
  }
  if (softmax) notes.push(`the graph ends in ${layers.at(-1)!.node.opType}; our model returns the logits before it`);

  const arrays = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [key, data] of stateDict) {
    const shape = shapes.get(key)!;
    if (data.length !== numel(shape)) throw new TesseraError(OP, `${key}: ${data.length} values for shape ${fmt(shape)}`);
    arrays.set(key, { data, shape });
  }
  return {
    variant,
    arrays,
    numClasses,
    ...(conv1Padding === undefined ? {} : { conv1Padding }),
    lrn,
    report: {
      producer: `${model.producerName} ${model.producerVersion}`.trim(),
      irVersion: model.irVersion,
      opset: model.opsets.get('') ?? null,
      graphName: model.graph.name,
      input: { name: input.name, shape: input.shape },
      output: { name: output, softmax },
      layers: lines,
      weightTypes: [...weightTypes].sort(),
      notes,
    },
  };
}

function toTensors(arrays: Analysis['arrays'], backend: string | undefined): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  try {
    for (const [key, { data, shape }] of arrays) out.set(key, tensor(data, shape, backend === undefined ? {} : { backend }));
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

/**
 * Reads an ONNX AlexNet (bytes, or a path under Node.js), checks that it is the paper / BVLC or the
 * torchvision network, and returns its weights under our state-dict keys with what it found about the graph.
 * Throws TesseraError('importOnnx', …) naming the node or tensor and what was expected otherwise.
 */
export async function importOnnx(src: OnnxSource, opts: ImportOnnxOptions = {}): Promise<OnnxImport> {
  const bytes = await sourceBytes(src);
  const { arrays, ...rest } = analyse(bytes, opts.variant);
  return { ...rest, stateDict: toTensors(arrays, opts.backend) };
}

/** The file's bytes, or a path to read it from (Node.js only). */
export type OnnxSource = Uint8Array | ArrayBuffer | string;

async function sourceBytes(src: OnnxSource): Promise<Uint8Array> {
  if (typeof src === 'string') return readFileBytes(src);
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (src instanceof Uint8Array) return src;
  throw new TesseraError(OP, `expects the file's bytes (Uint8Array or ArrayBuffer) or a path, got ${src === null ? 'null' : typeof src}`);
}

async function readFileBytes(path: string): Promise<Uint8Array> {
  // Loaded on first use so that bundling for a browser never pulls in node:fs.
  const fsName = 'node:fs/promises';
  let fs: typeof import('node:fs/promises');
  try {
    fs = (await import(fsName)) as typeof import('node:fs/promises');
  } catch (err) {
    throw new TesseraError(OP, 'reading a path needs Node.js; elsewhere pass the file as a Uint8Array', { cause: err });
  }
  try {
    return await fs.readFile(path);
  } catch (err) {
    throw new TesseraError(OP, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Imports an ONNX AlexNet into `model` (which must be the same variant, number of classes and, for the paper
 * variant, conv1 padding; build it with `init: 'none'` to skip a pointless initialisation). Every check runs
 * before anything is written. With `{ lrn: 'graph' }` the model's LRN layers are replaced by the graph's.
 */
export async function loadOnnxInto(model: AlexNet, src: OnnxSource, opts: LoadOnnxOptions = {}): Promise<OnnxLoadResult> {
  const op = 'loadOnnxInto';
  const mode = opts.lrn ?? 'keep';
  if (mode !== 'keep' && mode !== 'graph') throw new TesseraError(op, `lrn must be 'keep' or 'graph', got ${JSON.stringify(mode)}`);
  if (model.variant !== 'paper' && model.variant !== 'torchvision') {
    throw new TesseraError(op, `ONNX import supports the 'paper' and 'torchvision' AlexNets, not '${model.variant}'`);
  }
  const bytes = await sourceBytes(src);
  const { arrays, ...imported } = analyse(bytes, model.variant);
  if (imported.numClasses !== model.numClasses) {
    throw new TesseraError(
      op,
      `the graph classifies into ${imported.numClasses} classes but the model into ${model.numClasses}; build it with alexnet({ variant: '${model.variant}', numClasses: ${imported.numClasses} })`,
    );
  }
  const conv1 = model.features.at(0);
  if (imported.conv1Padding !== undefined && conv1 instanceof nn.Conv2d && conv1.padding[0] !== imported.conv1Padding) {
    throw new TesseraError(
      op,
      `the graph's conv1 pads by ${imported.conv1Padding} (${imported.conv1Padding === 0 ? '227×227 input, BVLC' : '224×224 input'}) but the model's by ${conv1.padding[0]}; build it with alexnet({ variant: 'paper', conv1Padding: ${imported.conv1Padding} })`,
    );
  }
  const lrnSlots: number[] = [];
  for (let i = 0; i < model.features.length; i++) if (model.features.at(i) instanceof nn.LocalResponseNorm) lrnSlots.push(i);
  if (lrnSlots.length !== imported.lrn.length) throw new TesseraError(op, `the model has ${lrnSlots.length} LRN layers, the graph ${imported.lrn.length}`);
  const first = model.parameters()[0];
  const stateDict = toTensors(arrays, first?.backend);
  try {
    model.loadStateDict(stateDict);
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
  let matches = true;
  imported.lrn.forEach((l, j) => {
    const slot = lrnSlots[j]!;
    const m = model.features.at(slot) as nn.LocalResponseNorm;
    const same = m.size === l.size && close(m.alpha, l.alpha) && close(m.beta, l.beta) && close(m.k, l.k);
    if (mode === 'graph' && !same) {
      model.features.registerModule(String(slot), new nn.LocalResponseNorm(l.size, { alpha: l.alpha, beta: l.beta, k: l.k }));
    } else if (!same) {
      matches = false;
      imported.report.notes.push(
        `${l.node} (LRN size ${l.size}, alpha ${l.alpha}, beta ${l.beta}, k ${l.k}) differs from the model's features.${slot} (size ${m.size}, alpha ${m.alpha}, beta ${m.beta}, k ${m.k}); kept the model's — pass { lrn: 'graph' } to reproduce the graph's outputs`,
      );
    }
  });
  return { ...imported, lrnApplied: mode === 'graph' && imported.lrn.length > 0, lrnMatchesGraph: matches };
}

/** Float32-stored attributes (alpha 1e-4 is 9.99999974e-5) compare equal to their decimal intent. */
function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b));
}
