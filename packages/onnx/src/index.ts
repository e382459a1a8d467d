/**
 * @tessera/onnx — ONNX in and out. Reading: a protobuf wire reader (protobuf.ts), the message model (types.ts)
 * and its decoder (decode.ts), tensor payloads (tensor-data.ts), attributes (attributes.ts) and a graph view
 * (graph-view.ts). Running: `loadOnnxModel` turns a graph of supported operators into a tessera Module
 * (interpreter.ts, ops.ts). Writing: `exportOnnx` traces a module's forward and writes an ONNX model (export.ts).
 */
export { ProtoReader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, decodeFloat32LE, decodeFloat64LE } from './protobuf.js';
export {
  DTYPE,
  ONNX_DTYPES,
  ONNX_OP,
  describeNode,
  dtypeName,
  emptyTensor,
  fmtDims,
  numel,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './types.js';
export { parseOnnxModel } from './decode.js';
export { onnxTensorToFloat32, onnxTensorToInts } from './tensor-data.js';
export { attr, attrFloat, attrInt, attrInts, attrString, f32Decimal } from './attributes.js';
export { OnnxGraphView } from './graph-view.js';
export { OnnxModule, loadOnnxModel, MIN_OPSET, MAX_OPSET, type LoadOnnxModelOptions } from './interpreter.js';
export { HostInts, SUPPORTED_OPS } from './ops.js';
export { exportOnnx, type ExportOnnxOptions } from './export.js';
