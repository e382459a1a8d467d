/**
 * The ONNX message model lives in @tessera/onnx; the AlexNet importer reports its errors (and those of the shared
 * reader it calls) under its own op, IMPORT_OP.
 */
export { DTYPE, ONNX_DTYPES, describeNode, dtypeName, emptyTensor, fmtDims, numel } from '@tessera/onnx';
export type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from '@tessera/onnx';

/** The TesseraError op of everything the ONNX import reports. */
export const IMPORT_OP = 'importOnnx';
