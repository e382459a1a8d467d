/** Stochastic gradient descent with momentum and weight decay, on the backend's fused sgdUpdate kernel. */
import type { SgdParams } from '../backend/kernels.js';
import { TesseraError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamState, type ParamsInput } from './optimizer.js';
import { checkBoolean, checkChoice, checkNumber } from './validate.js';

export type SgdRule = 'pytorch' | 'paper';

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  rule: SgdRule;
}

export interface SGDOptions {
  lr: number;
  /** Default 0 (no velocity buffer). */
  momentum?: number;
  /** Default 0; pytorch rule only. */
  dampening?: number;
  /** L2 penalty (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false); pytorch rule only, needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  /**
   * 'pytorch' (default): torch.optim.SGD — g' = g + wd·w; v ← m·v + (1 − dampening)·g' (v ← g' on the first
   * step); w ← w − lr·(nesterov ? g' + m·v : v).
   * 'paper': Krizhevsky et al. (2012), Section 5 — v ← m·v − wd·lr·w − lr·g; w ← w + v (v starts at 0).
   * The two agree up to how the learning rate enters v: with a constant lr, paper-v = −lr·pytorch-v.
   */
  rule?: SgdRule;
}

/**
 * SGD. AlexNet's recipe is `new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4,
 * rule: 'paper' })`, dividing lr by 10 when the validation error stops improving (ReduceLROnPlateau).
 */
export class SGD extends Optimizer<SGDHyper> {
  readonly kind = 'SGD';
  protected readonly stateTensorNames = ['momentumBuffer'] as const;

  constructor(params: ParamsInput<SGDHyper>, opts: SGDOptions) {
    if (typeof opts !== 'object' || opts === null || opts.lr === undefined)
      throw new TesseraError('SGD', 'options with a learning rate are required: new SGD(params, { lr })');
    super(params, {
      lr: opts.lr,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
      rule: opts.rule ?? 'pytorch',
    });
  }

  protected validateGroup(g: SGDHyper, op: string): void {
    checkNumber(op, 'lr', g.lr, 0);
    checkNumber(op, 'momentum', g.momentum, 0);
    checkNumber(op, 'dampening', g.dampening, 0);
    checkNumber(op, 'weightDecay', g.weightDecay, 0);
    checkBoolean(op, 'nesterov', g.nesterov);
    checkChoice(op, 'rule', g.rule, ['pytorch', 'paper']);
    if (g.rule === 'paper' && (g.dampening !== 0 || g.nesterov)) {
      throw new TesseraError(
        op,
        `the paper rule has no dampening or Nesterov momentum (got dampening ${g.dampening}, nesterov ${g.nesterov}); use rule 'pytorch'`,
      );
    }
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new TesseraError(op, `Nesterov momentum requires a momentum > 0 and zero dampening (got momentum ${g.momentum}, dampening ${g.dampening})`);
    }
  }

  protected override checkState(st: ParamState): string | null {
    return st.has('momentumBuffer') ? null : 'SGD state holds only a momentumBuffer tensor';
  }

  /** One update of every parameter that has a gradient, by the fused kernel (in place). */
  step(): void {
    const op = 'SGD.step';
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = this.gradOf(p, op);
        if (grad === null) continue;
        let velocity: Tensor | null = null;
        let firstStep = false;
        if (g.momentum !== 0) {
          let st = this.state.get(p);
          if (!st) this.state.set(p, (st = new Map()));
          const v = st.get('momentumBuffer');
          if (v === undefined) {
            velocity = this.zerosState(p);
            st.set('momentumBuffer', velocity);
            firstStep = true;
          } else {
            velocity = v as Tensor;
          }
        }
        const params: SgdParams = {
          rule: g.rule,
          lr: g.lr,
          momentum: g.momentum,
          weightDecay: g.weightDecay,
          dampening: g.dampening,
          nesterov: g.nesterov,
          firstStep,
        };
        p.backendImpl.kernels.sgdUpdate(p.buf(op), grad.buf(op), velocity === null ? null : velocity.buf(op), params);
      }
    }
    this.stepCount++;
  }
}
