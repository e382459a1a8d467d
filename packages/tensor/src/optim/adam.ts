/** Adam (Kingma & Ba, 2015) with torch.optim.Adam's semantics, written with tensor ops. */
import { noGrad, tidy } from '../engine.js';
import { TesseraError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Optimizer, type ParamState, type ParamsInput } from './optimizer.js';
import { checkBoolean, checkNumber } from './validate.js';

export interface AdamHyper {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

export type AdamOptions = Partial<AdamHyper>;

/**
 * Per parameter, with t its step count:
 *   g ← g + wd·w;  m ← m + (1−β₁)(g − m);  v ← β₂·v + (1−β₂)·g²;  (amsgrad: v̂ ← max(v̂, v), used for v)
 *   w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + eps)
 * exactly as torch.optim.Adam (L2 weight decay added to the gradient, not AdamW's decoupled decay).
 */
export class Adam extends Optimizer<AdamHyper> {
  readonly kind = 'Adam';
  protected readonly stateTensorNames = ['expAvg', 'expAvgSq', 'maxExpAvgSq'] as const;
  protected override readonly stateNumberNames = ['step'] as const;

  constructor(params: ParamsInput<AdamHyper>, opts: AdamOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-3,
      betas: opts.betas ? [opts.betas[0], opts.betas[1]] : [0.9, 0.999],
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      amsgrad: opts.amsgrad ?? false,
    });
  }

  protected validateGroup(g: AdamHyper, op: string): void {
    checkNumber(op, 'lr', g.lr, 0);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) throw new TesseraError(op, `betas must be a pair [beta1, beta2], got ${JSON.stringify(g.betas)}`);
    checkNumber(op, 'betas[0]', g.betas[0], 0, 1, true);
    checkNumber(op, 'betas[1]', g.betas[1], 0, 1, true);
    checkNumber(op, 'eps', g.eps, 0);
    checkNumber(op, 'weightDecay', g.weightDecay, 0);
    checkBoolean(op, 'amsgrad', g.amsgrad);
  }

  protected override checkState(st: ParamState, g: AdamHyper): string | null {
    const step = st.get('step');
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) return 'Adam state needs an integer step';
    if (!st.has('expAvg') || !st.has('expAvgSq')) return 'Adam state needs expAvg and expAvgSq tensors';
    if (g.amsgrad && !st.has('maxExpAvgSq')) return 'amsgrad is on but the state has no maxExpAvgSq tensor';
    return null;
  }

  step(): void {
    const op = 'Adam.step';
    for (const g of this.paramGroups) {
      const [beta1, beta2] = g.betas;
      for (const p of g.params) {
        const grad = this.gradOf(p, op);
        if (grad === null) continue;
        let st = this.state.get(p);
        if (!st) {
          st = new Map<string, Tensor | number>([
            ['step', 0],
            ['expAvg', this.zerosState(p)],
            ['expAvgSq', this.zerosState(p)],
          ]);
          this.state.set(p, st);
        }
        if (g.amsgrad && !st.has('maxExpAvgSq')) st.set('maxExpAvgSq', this.zerosState(p));
        const step = (st.get('step') as number) + 1;
        st.set('step', step);
        const m = st.get('expAvg') as Tensor;
        const v = st.get('expAvgSq') as Tensor;
        const vMax = g.amsgrad ? (st.get('maxExpAvgSq') as Tensor) : null;
        const stepSize = g.lr / (1 - beta1 ** step);
        const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
        noGrad(() =>
          tidy(() => {
            const gr = g.weightDecay !== 0 ? grad.add(p.mul(g.weightDecay)) : grad;
            m.copy_(m.add(gr.sub(m).mul(1 - beta1)));
            v.copy_(v.mul(beta2).add(gr.mul(1 - beta2).mul(gr)));
            let second = v;
            if (vMax) {
              vMax.copy_(vMax.maximum(v));
              second = vMax;
            }
            const denom = second.sqrt().div(bc2Sqrt).add(g.eps);
            p.copy_(p.add(m.div(denom).mul(-stepSize)));
          }),
        );
      }
    }
    this.stepCount++;
  }
}
