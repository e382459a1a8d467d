/** Node attributes with their ONNX defaults (in @tessera/onnx), reporting errors as the AlexNet importer's. */
import { attrFloat as float, attrInt as int, type OnnxNode } from '@tessera/onnx';
import { IMPORT_OP } from './types.js';

export { attr, attrInts, attrString, f32Decimal } from '@tessera/onnx';

export function attrInt(n: OnnxNode, name: string, dflt: number): number {
  return int(n, name, dflt, IMPORT_OP);
}

export function attrFloat(n: OnnxNode, name: string, dflt: number): number {
  return float(n, name, dflt, IMPORT_OP);
}
