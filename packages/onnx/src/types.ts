/**
 * The ONNX message model: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and ValueInfoProto as
 * typed records holding the fields an importer reads (decode.ts fills them from the protobuf bytes), and the
 * small formatting helpers every error message about them uses.
 */

/** The TesseraError op of what the ONNX reader and interpreter report, unless a caller passes its own. */
export const ONNX_OP = 'loadOnnxModel';

/** TensorProto.DataType values this importer decodes or names. */
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

/** The TensorProto.DataType codes the importer converts. */
export const DTYPE = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16 } as const;

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

export function dtypeName(t: number): string {
  return ONNX_DTYPES[t] ?? `data_type ${t}`;
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Dims as `[a, b, c]`, symbolic ones by name. */
export function fmtDims(dims: readonly (number | string)[]): string {
  return `[${dims.join(', ')}]`;
}

/** A node as errors name it: `Conv node 'conv1'`, or by index / output when it has no name. */
export function describeNode(n: OnnxNode, index?: number): string {
  const id = n.name !== '' ? `'${n.name}'` : index !== undefined ? `#${index}` : `(unnamed, output '${n.outputs[0] ?? ''}')`;
  return `${n.opType} node ${id}`;
}

/** A tensor record with no payload yet. */
export function emptyTensor(name: string, dims: number[], dataType: number): OnnxTensor {
  return { name, dims, dataType, rawData: null, floatData: [], int32Data: [], int64Data: [], doubleData: [], externalLocation: null };
}
