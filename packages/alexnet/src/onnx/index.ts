/**
 * ONNX import: the protobuf wire reader (protobuf.ts), the message model (types.ts) and its decoder (decode.ts),
 * tensor payloads (tensor-data.ts), a model-independent graph view (graph-view.ts), and AlexNet recognition —
 * the graph read as a chain of layers (chain-layers.ts, torch-lrn.ts), checked against an AlexNet's own layers and
 * stateDict() (alexnet-architecture.ts, alexnet-match.ts) — behind the loading API (load.ts).
 */
export { parseOnnxModel } from './decode.js';
export { onnxTensorToFloat32, onnxTensorToInts } from './tensor-data.js';
export type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './types.js';
export type { OnnxAlexNetVariant } from './alexnet-architecture.js';
export type { OnnxImportReport, OnnxLrn } from './alexnet-match.js';
export { importOnnx, loadOnnxInto, type ImportOnnxOptions, type LoadOnnxOptions, type OnnxImport, type OnnxLoadResult, type OnnxSource } from './load.js';
