/** `optim`: optimisers and learning-rate schedulers, named like torch.optim. */
export {
  Optimizer,
  type BaseHyper,
  type HyperValue,
  type ParamGroup,
  type ParamGroupInput,
  type ParamsInput,
  type ParamState,
  type OptimizerMeta,
  type OptimizerStateDict,
} from './optimizer.js';
export { SGD, type SGDHyper, type SGDOptions, type SgdRule } from './sgd.js';
export { Adam, type AdamHyper, type AdamOptions } from './adam.js';
export { LRScheduler, type SchedulerState } from './scheduler.js';
export { StepLR, type StepLROptions } from './steplr.js';
export { MultiStepLR, type MultiStepLROptions } from './multisteplr.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './plateau.js';
