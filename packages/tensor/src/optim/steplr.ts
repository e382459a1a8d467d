/** Step decay, after torch.optim.lr_scheduler.StepLR. */
import type { BaseHyper, Optimizer } from './optimizer.js';
import { LRScheduler, type SchedulerState } from './scheduler.js';
import { checkInteger, checkNumber } from './validate.js';

export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Multiplier applied every stepSize epochs (default 0.1). */
  gamma?: number;
}

/** Multiplies every group's lr by gamma every stepSize epochs: lr = base·gamma^⌊epoch/stepSize⌋. */
export class StepLR extends LRScheduler {
  readonly kind = 'StepLR';
  stepSize: number;
  gamma: number;

  constructor(optimizer: Optimizer<BaseHyper>, opts: StepLROptions) {
    super(optimizer);
    this.stepSize = checkInteger('StepLR', 'stepSize', opts?.stepSize, 1);
    this.gamma = checkNumber('StepLR', 'gamma', opts.gamma ?? 0.1, 0);
    this.initialStep();
  }

  protected computeLr(): number[] {
    const decay = this.lastEpoch !== 0 && this.lastEpoch % this.stepSize === 0;
    return this.optimizer.paramGroups.map((g) => (decay ? g.lr * this.gamma : g.lr));
  }

  protected extraState(): SchedulerState {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected loadExtraState(s: Record<string, unknown>, op: string): void {
    const stepSize = checkInteger(op, 'stepSize', s.stepSize, 1);
    const gamma = checkNumber(op, 'gamma', s.gamma, 0);
    this.stepSize = stepSize;
    this.gamma = gamma;
  }
}
