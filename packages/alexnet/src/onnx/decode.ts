/** ModelProto decoding (in @tessera/onnx), reporting errors as the AlexNet importer's. */
import { parseOnnxModel as parse, type OnnxModel } from '@tessera/onnx';
import { IMPORT_OP } from './types.js';

/** Parses an ONNX ModelProto. Tensor payloads are views into `bytes` (keep it alive while they are used). */
export function parseOnnxModel(bytes: Uint8Array): OnnxModel {
  return parse(bytes, IMPORT_OP);
}
