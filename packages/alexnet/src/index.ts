export { AlexNet, alexnet, averageCropProbabilities, PAPER_LRN, type AlexNetOptions, type AlexNetVariant } from './model.js';
export {
  Trainer,
  resolveCheckpoint,
  type TrainerOptions,
  type BatchSource,
  type TrainBatch,
  type StepInfo,
  type EpochRecord,
  type CheckpointEvery,
  type StopInfo,
} from './trainer.js';
export { ErrorMeter, batchCounts, type ErrorRates } from './metrics.js';
export * from './figures/index.js';
export {
  importOnnx,
  loadOnnxInto,
  parseOnnxModel,
  onnxTensorToFloat32,
  onnxTensorToInts,
  type ImportOnnxOptions,
  type LoadOnnxOptions,
  type OnnxAlexNetVariant,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxImport,
  type OnnxImportReport,
  type OnnxLoadResult,
  type OnnxLrn,
  type OnnxModel,
  type OnnxNode,
  type OnnxSource,
  type OnnxTensor,
  type OnnxValueInfo,
} from './onnx/index.js';
export {
  CHECKPOINT_SIDECAR_FORMAT,
  CHECKPOINT_SIDECAR_VERSION,
  SidecarFieldReader,
  parseCheckpointSidecar,
  readCheckpointSidecar,
  type CheckpointSidecar,
  type EpochProgress,
  type DescribeReader,
} from './checkpoint-sidecar.js';
