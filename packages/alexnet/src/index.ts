export { AlexNet, alexnet, averageCropProbabilities, PAPER_LRN, type AlexNetOptions, type AlexNetVariant } from './model.js';
export {
  Trainer,
  resolveCheckpoint,
  readSidecar,
  type TrainerOptions,
  type BatchSource,
  type TrainBatch,
  type StepInfo,
  type EpochRecord,
  type CheckpointSidecar,
} from './trainer.js';
export { ErrorMeter, batchCounts, type ErrorRates } from './metrics.js';
