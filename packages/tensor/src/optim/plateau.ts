/**
 * Reduce the learning rate when a metric stops improving, after torch.optim.lr_scheduler.ReduceLROnPlateau.
 * The AlexNet recipe ("divide the learning rate by 10 when the validation error rate stopped improving") is
 * `new ReduceLROnPlateau(opt, { mode: 'min', factor: 0.1, patience: … })` stepped with the validation error.
 */
import { TesseraError } from '../errors.js';
import type { BaseHyper, Optimizer } from './optimizer.js';
import { decodeNumber, decodeNumbers, encodeNumber, type SchedulerState } from './scheduler.js';
import { checkChoice, checkInteger, checkNumber } from './validate.js';

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): lower is better; 'max': higher is better. */
  mode?: 'min' | 'max';
  /** New lr = lr·factor (default 0.1; must be < 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Minimum change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): relative to the best value; 'abs': absolute. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound on the lr, one for all groups or one per group (default 0). */
  minLr?: number | readonly number[];
  /** Reductions smaller than eps are skipped (default 1e-8). */
  eps?: number;
}

export class ReduceLROnPlateau {
  readonly kind = 'ReduceLROnPlateau';
  readonly optimizer: Optimizer<BaseHyper>;
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  eps: number;
  /** The best metric seen so far. */
  best: number;
  /** Consecutive epochs without improvement. */
  numBadEpochs = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  /** Epochs stepped. */
  lastEpoch = 0;
  private lastLrs: number[];

  constructor(optimizer: Optimizer<BaseHyper>, opts: ReduceLROnPlateauOptions = {}) {
    const op = 'ReduceLROnPlateau';
    if (typeof optimizer !== 'object' || optimizer === null || !Array.isArray(optimizer.paramGroups)) throw new TesseraError(op, 'expects an Optimizer');
    this.optimizer = optimizer;
    this.mode = checkChoice(op, 'mode', opts.mode ?? 'min', ['min', 'max']);
    this.factor = checkNumber(op, 'factor', opts.factor ?? 0.1, 0, 1, true);
    this.patience = checkInteger(op, 'patience', opts.patience ?? 10, 0);
    this.threshold = checkNumber(op, 'threshold', opts.threshold ?? 1e-4, 0);
    this.thresholdMode = checkChoice(op, 'thresholdMode', opts.thresholdMode ?? 'rel', ['rel', 'abs']);
    this.cooldown = checkInteger(op, 'cooldown', opts.cooldown ?? 0, 0);
    this.eps = checkNumber(op, 'eps', opts.eps ?? 1e-8, 0);
    const n = optimizer.paramGroups.length;
    const minLr = opts.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== n) throw new TesseraError(op, `minLr has ${minLr.length} entries but the optimiser has ${n} parameter groups`);
      this.minLrs = minLr.map((v, i) => checkNumber(op, `minLr[${i}]`, v, 0));
    } else {
      const v = checkNumber(op, 'minLr', minLr, 0);
      this.minLrs = new Array<number>(n).fill(v);
    }
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.lastLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** Whether `a` improves on `best` by more than the threshold. */
  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Records this epoch's metric; reduces every group's lr after more than `patience` bad epochs. */
  step(metric: number): void {
    if (typeof metric !== 'number') throw new TesseraError('ReduceLROnPlateau.step', `metric must be a number, got ${typeof metric}; pass await loss.item()`);
    this.lastEpoch++;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.inCooldown) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLrs = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const old = g.lr;
      const next = Math.max(old * this.factor, this.minLrs[i]!);
      if (old - next > this.eps) g.lr = next;
    });
  }

  getLastLr(): number[] {
    return this.lastLrs.slice();
  }

  /** JSON-serialisable state (an infinite `best` is written as a string). */
  stateDict(): SchedulerState {
    return {
      type: this.kind,
      mode: this.mode,
      factor: this.factor,
      patience: this.patience,
      threshold: this.threshold,
      thresholdMode: this.thresholdMode,
      cooldown: this.cooldown,
      minLrs: this.minLrs.slice(),
      eps: this.eps,
      best: encodeNumber(this.best),
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastEpoch: this.lastEpoch,
      lastLr: this.lastLrs.map(encodeNumber),
    };
  }

  loadStateDict(s: SchedulerState): void {
    const op = 'ReduceLROnPlateau.loadStateDict';
    if (typeof s !== 'object' || s === null || s.type !== this.kind) {
      throw new TesseraError(op, `expects the state of a ReduceLROnPlateau, got ${typeof s === 'object' && s !== null ? JSON.stringify(s.type) : String(s)}`);
    }
    const n = this.optimizer.paramGroups.length;
    const next = {
      mode: checkChoice(op, 'mode', s.mode, ['min', 'max']),
      factor: checkNumber(op, 'factor', s.factor, 0, 1, true),
      patience: checkInteger(op, 'patience', s.patience, 0),
      threshold: checkNumber(op, 'threshold', s.threshold, 0),
      thresholdMode: checkChoice(op, 'thresholdMode', s.thresholdMode, ['rel', 'abs']),
      cooldown: checkInteger(op, 'cooldown', s.cooldown, 0),
      minLrs: decodeNumbers(s.minLrs, op, 'minLrs', n),
      eps: checkNumber(op, 'eps', s.eps, 0),
      best: decodeNumber(s.best, op, 'best'),
      numBadEpochs: checkInteger(op, 'numBadEpochs', s.numBadEpochs, 0),
      cooldownCounter: checkInteger(op, 'cooldownCounter', s.cooldownCounter, 0),
      lastEpoch: checkInteger(op, 'lastEpoch', s.lastEpoch, 0),
      lastLrs: decodeNumbers(s.lastLr, op, 'lastLr', n),
    };
    Object.assign(this, next);
  }
}
