/** Decay at chosen epochs, after torch.optim.lr_scheduler.MultiStepLR. */
import { TesseraError } from '../errors.js';
import type { BaseHyper, Optimizer } from './optimizer.js';
import { LRScheduler, type SchedulerState } from './scheduler.js';
import { checkInteger, checkNumber } from './validate.js';

export interface MultiStepLROptions {
  /**
   * Epoch indices (lastEpoch values, 0-based) at which every group's lr is multiplied by gamma. Order does not
   * matter; a milestone listed k times multiplies by gamma^k, as torch's Counter does. A milestone of 0 applies
   * at construction (the initial step), as in PyTorch.
   */
  milestones: readonly number[];
  /** Multiplier applied at each milestone (default 0.1). */
  gamma?: number;
}

/** Multiplies every group's lr by gamma whenever lastEpoch reaches a milestone: lr = base·gamma^(milestones ≤ epoch). */
export class MultiStepLR extends LRScheduler {
  readonly kind = 'MultiStepLR';
  /** The milestones, sorted, repeats kept. */
  milestones: number[];
  gamma: number;

  constructor(optimizer: Optimizer<BaseHyper>, opts: MultiStepLROptions) {
    super(optimizer);
    this.milestones = checkMilestones('MultiStepLR', opts?.milestones);
    this.gamma = checkNumber('MultiStepLR', 'gamma', opts.gamma ?? 0.1, 0);
    this.initialStep();
  }

  protected computeLr(): number[] {
    let count = 0;
    for (const m of this.milestones) if (m === this.lastEpoch) count++;
    // torch: group['lr'] * gamma ** count — the same operations, so the same float artefacts.
    return this.optimizer.paramGroups.map((g) => (count === 0 ? g.lr : g.lr * this.gamma ** count));
  }

  protected extraState(): SchedulerState {
    return { milestones: this.milestones.slice(), gamma: this.gamma };
  }

  protected loadExtraState(s: Record<string, unknown>, op: string): void {
    const milestones = checkMilestones(op, s.milestones);
    const gamma = checkNumber(op, 'gamma', s.gamma, 0);
    this.milestones = milestones;
    this.gamma = gamma;
  }
}

function checkMilestones(op: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw new TesseraError(op, `milestones must be an array of epoch indices (integers ≥ 0), got ${JSON.stringify(v) ?? String(v)}`);
  return v.map((m, i) => checkInteger(op, `milestones[${i}]`, m, 0)).sort((a, b) => a - b);
}
