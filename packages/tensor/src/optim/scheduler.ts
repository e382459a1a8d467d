/**
 * The base of epoch-indexed learning-rate schedulers, after torch.optim.lr_scheduler.LRScheduler (its
 * "chainable" form: each step derives the new rates from the current ones, so schedulers compose and manual
 * lr changes are respected). Construction performs the initial step, as in PyTorch: lastEpoch becomes 0.
 */
import { TesseraError } from '../errors.js';
import type { BaseHyper, Optimizer } from './optimizer.js';

/** A scheduler's state: plain JSON (non-finite numbers written as strings, see encodeNumber). */
export type SchedulerState = Record<string, number | string | boolean | (number | string)[]>;

/** JSON has no Infinity or NaN: they are written as the strings "Infinity", "-Infinity", "NaN". */
export function encodeNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

export function decodeNumber(v: unknown, op: string, name: string): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === 'NaN') return NaN;
  throw new TesseraError(op, `${name} must be a number, got ${JSON.stringify(v)}`);
}

export function decodeNumbers(v: unknown, op: string, name: string, length: number): number[] {
  if (!Array.isArray(v) || v.length !== length)
    throw new TesseraError(op, `${name} must be an array of ${length} numbers (one per parameter group), got ${JSON.stringify(v)}`);
  return v.map((x, i) => decodeNumber(x, op, `${name}[${i}]`));
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer<BaseHyper>;
  /** The index of the last epoch stepped (0 right after construction). */
  lastEpoch = -1;
  /** Each group's learning rate when the scheduler was created. */
  baseLrs: number[];
  protected lastLrs: number[];
  abstract readonly kind: string;

  constructor(optimizer: Optimizer<BaseHyper>) {
    if (typeof optimizer !== 'object' || optimizer === null || !Array.isArray(optimizer.paramGroups)) {
      throw new TesseraError(this.constructor.name, 'expects an Optimizer');
    }
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.lastLrs = this.baseLrs.slice();
  }

  /** Performs the initial step; subclasses call it at the end of their constructor. */
  protected initialStep(): void {
    this.step();
  }

  /** The learning rates for epoch `lastEpoch`, from the groups' current rates. */
  protected abstract computeLr(): number[];

  /** Advances one epoch and writes the new rates into the optimiser's groups. */
  step(): void {
    this.lastEpoch++;
    const lrs = this.computeLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.lastLrs = lrs;
  }

  /** The rates set by the last step, one per group. */
  getLastLr(): number[] {
    return this.lastLrs.slice();
  }

  /** Scheduler-specific settings and counters (hyperparameters included). */
  protected abstract extraState(): SchedulerState;
  protected abstract loadExtraState(s: Record<string, unknown>, op: string): void;

  /** JSON-serialisable state; `JSON.stringify` it to store. */
  stateDict(): SchedulerState {
    return {
      type: this.kind,
      lastEpoch: this.lastEpoch,
      baseLrs: this.baseLrs.map(encodeNumber),
      lastLr: this.lastLrs.map(encodeNumber),
      ...this.extraState(),
    };
  }

  /** Restores a state from stateDict(); the optimiser's rates are restored by its own loadStateDict. */
  loadStateDict(s: SchedulerState): void {
    const op = `${this.constructor.name}.loadStateDict`;
    if (typeof s !== 'object' || s === null || s.type !== this.kind) {
      throw new TesseraError(op, `expects the state of a ${this.kind}, got ${typeof s === 'object' && s !== null ? JSON.stringify(s.type) : String(s)}`);
    }
    const n = this.optimizer.paramGroups.length;
    if (typeof s.lastEpoch !== 'number' || !Number.isSafeInteger(s.lastEpoch) || s.lastEpoch < -1)
      throw new TesseraError(op, `lastEpoch must be an integer ≥ -1, got ${JSON.stringify(s.lastEpoch)}`);
    const baseLrs = decodeNumbers(s.baseLrs, op, 'baseLrs', n);
    const lastLr = decodeNumbers(s.lastLr, op, 'lastLr', n);
    this.loadExtraState(s, op);
    this.lastEpoch = s.lastEpoch;
    this.baseLrs = baseLrs;
    this.lastLrs = lastLr;
  }
}
