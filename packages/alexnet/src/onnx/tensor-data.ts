/** TensorProto payloads as numbers (in @tessera/onnx), reporting errors as the AlexNet importer's. */
import { onnxTensorToFloat32 as toFloat32, onnxTensorToInts as toInts, type OnnxTensor } from '@tessera/onnx';
import { IMPORT_OP } from './types.js';

/** A tensor's values as float32 (FLOAT, FLOAT16, BFLOAT16 or DOUBLE; DOUBLE is rounded). */
export function onnxTensorToFloat32(t: OnnxTensor, what = 'tensor'): Float32Array {
  return toFloat32(t, what, IMPORT_OP);
}

/** An integer tensor's values (INT64 or INT32), e.g. a Reshape target. */
export function onnxTensorToInts(t: OnnxTensor, what = 'tensor'): number[] {
  return toInts(t, what, IMPORT_OP);
}
