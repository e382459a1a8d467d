/**
 * Decodes an ONNX ModelProto from its protobuf bytes into the records of types.ts: the graph's nodes, attributes,
 * initializers and declared inputs/outputs, opset imports and producer. Fields an importer does not need
 * (doc strings, value_info, sparse initializers, subgraph attributes, …) are skipped as the wire format allows.
 */
import { TesseraError } from '@tessera/tensor';
import { f32Decimal } from './attributes.js';
import { ProtoReader, WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, decodeFloat32LE } from './protobuf.js';
import { ONNX_OP, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './types.js';

/** Parses an ONNX ModelProto. Tensor payloads are views into `bytes` (keep it alive while they are used). */
export function parseOnnxModel(bytes: Uint8Array, op: string = ONNX_OP): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new TesseraError(op, `expects a Uint8Array or a path, got ${typeof bytes}`);
  if (bytes.length === 0) throw new TesseraError(op, 'the file is empty');
  const r = ProtoReader.of(bytes, 'ModelProto', op);
  const model: Omit<OnnxModel, 'graph'> = { irVersion: 0, producerName: '', producerVersion: '', opsets: new Map() };
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
        if (graph) throw new TesseraError(r.op, 'ModelProto has two graph fields');
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
    throw new TesseraError(op, `the file has no ONNX graph (ModelProto field 7)${model.irVersion === 0 ? ' and no ir_version: it is not an ONNX model' : ''}`);
  }
  return { ...model, graph };
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
        if (g.initializers.has(t.name)) throw new TesseraError(r.op, `two initializers are named '${t.name}'`);
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
        // g, strings, tensors, graphs, sparse tensors, type protos, ref_attr_name: the readers here use none.
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
        throw new TesseraError(r.op, `tensor in ${r.where} is segmented (TensorProto.segment); segmented tensors are not supported`);
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
