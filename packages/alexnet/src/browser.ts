/**
 * @tessera/alexnet/browser — what runs without Node: the models, the error meter, ONNX import from bytes and
 * the checkpoint sidecar's format and parser (the Trainer, which reads and writes files, and the figures stay
 * in the root entry). Nothing here imports a Node module.
 */
export { AlexNet, alexnet, averageCropProbabilities, PAPER_LRN, type AlexNetOptions, type AlexNetVariant } from './model.js';
export { ErrorMeter, batchCounts, type ErrorRates } from './metrics.js';
export { importOnnx, loadOnnxInto, type ImportOnnxOptions, type LoadOnnxOptions, type OnnxImport, type OnnxLoadResult, type OnnxSource } from './onnx/index.js';
export { CHECKPOINT_SIDECAR_FORMAT, SidecarFieldReader, parseCheckpointSidecar, type CheckpointSidecar, type DescribeReader } from './checkpoint-sidecar.js';
export type { EpochRecord } from './trainer.js';
