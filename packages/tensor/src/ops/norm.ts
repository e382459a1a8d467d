/**
 * Batch normalisation over dim 1 of [N, C, …], after torch.nn.functional.batch_norm: one recorded node whose
 * backward is derived by hand (in terms of ops), so the tape holds x, the per-channel mean and 1/σ only.
 */
import { record } from '../autograd.js';
import { noGrad, tidy } from '../engine.js';
import { TesseraError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { filled, requireFloat, sameBackend } from './util.js';

export interface BatchNormOptions {
  /** Normalise with the batch's statistics (and update the running ones, when given); false: with the running ones. */
  training: boolean;
  /**
   * Weight of the new batch statistic in the running average: running = (1 − m)·running + m·stat. Default 0.1.
   * `null` is PyTorch's momentum=None (a cumulative average, factor 1/batches-seen): only a layer knows how many
   * batches it has seen, so use nn.BatchNorm1d/2d, which tracks `num_batches_tracked`, or pass 1/count yourself.
   */
  momentum?: number | null;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Tensor) return String(v);
  return `${typeof v} ${String(v)}`;
}

/**
 * y = (x − E[x]) / √(Var[x] + eps) · weight + bias per channel (dim 1), with PyTorch's semantics:
 *
 * - training: E and Var are the batch's (biased variance, over every dim but 1). When runningMean and
 *   runningVar are given they are updated in place, unrecorded: running = (1 − m)·running + m·stat, with the
 *   batch's UNBIASED variance for runningVar, as PyTorch does.
 * - eval: E and Var are runningMean and runningVar.
 *
 * x is [N, C] or [N, C, …] (any trailing dims; BatchNorm1d/2d use rank 2–3 and 4); runningMean, runningVar,
 * weight and bias are [C] (each may be null: no affine, or no running statistics). Gradients flow to x, weight
 * and bias; running statistics are constants (PyTorch marks them non-differentiable).
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNormOptions,
): Tensor {
  const op = 'batchNorm';
  if (opts === undefined || opts === null || typeof opts !== 'object') {
    throw new TesseraError(op, 'needs options { training: boolean, momentum?, eps? } as its sixth argument');
  }
  if (typeof opts.training !== 'boolean') throw new TesseraError(op, `opts.training must be a boolean, got ${describeValue(opts.training)}`);
  const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  if (momentum !== null) checkMomentum(op, momentum);
  else if (opts.training && (runningMean !== null || runningVar !== null)) {
    throw new TesseraError(
      op,
      'momentum null (a cumulative moving average) needs the number of batches seen: use nn.BatchNorm1d/2d (which counts them in num_batches_tracked) or pass momentum = 1 / count',
    );
  }
  return batchNormCore(x, runningMean, runningVar, weight, bias, opts.training, momentum ?? 0, opts.eps ?? 1e-5);
}

function checkMomentum(op: string, m: number): void {
  if (typeof m !== 'number' || !(m >= 0 && m <= 1)) throw new TesseraError(op, `momentum must be a number in [0, 1] or null, got ${describeValue(m)}`);
}

/**
 * @internal batchNorm with the running-average factor given as a number or a 0-d tensor of x's dtype (the layer
 * computes 1/num_batches_tracked on the device, without a read-back).
 */
export function batchNormCore(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  training: boolean,
  factor: number | Tensor,
  eps: number,
): Tensor {
  const op = 'batchNorm';
  if (!(x instanceof Tensor)) throw new TesseraError(op, `input must be a Tensor, got ${describeValue(x)}`);
  x.buf(op);
  requireFloat(op, x);
  if (x.rank < 2) throw new TesseraError(op, `input must be [N, C] or [N, C, …] (rank 2 or more), got ${fmtShape(x.shape)}`);
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) throw new TesseraError(op, `eps must be a finite number ≥ 0, got ${describeValue(eps)}`);
  const c = x.shape[1]!;
  const named: [string, Tensor | null][] = [
    ['runningMean', runningMean],
    ['runningVar', runningVar],
    ['weight', weight],
    ['bias', bias],
  ];
  for (const [name, t] of named) {
    if (t === null) continue;
    if (!(t instanceof Tensor)) throw new TesseraError(op, `${name} must be a Tensor or null, got ${describeValue(t)}`);
    sameBackend(op, x, t);
    if (t.rank !== 1 || t.shape[0] !== c) {
      throw new TesseraError(op, `${name} must be [${c}] (one value per channel of input ${fmtShape(x.shape)}), got ${fmtShape(t.shape)}`);
    }
    if (t.dtype !== x.dtype) throw new TesseraError(op, `${name} is ${t.dtype} but the input is ${x.dtype}; cast one of them`);
  }
  if ((runningMean === null) !== (runningVar === null)) {
    throw new TesseraError(op, `runningMean and runningVar must be given together (got ${runningMean === null ? 'only runningVar' : 'only runningMean'})`);
  }
  if (!training && runningMean === null) throw new TesseraError(op, 'running statistics (runningMean, runningVar) are required in evaluation mode');
  if (factor instanceof Tensor) {
    sameBackend(op, x, factor);
    if (factor.size !== 1 || factor.dtype !== x.dtype) throw new TesseraError(op, `a momentum tensor must be one ${x.dtype} value, got ${String(factor)}`);
  } else {
    checkMomentum(op, factor);
  }
  const count = x.size / Math.max(c, 1);
  if (training && x.size > 0 && count <= 1) {
    throw new TesseraError(op, `Expected more than 1 value per channel when training, got input size ${fmtShape(x.shape)}`);
  }

  // Per-channel tensors broadcast as [1, C, 1, …]; statistics reduce over every dim but 1.
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];

  if (x.size === 0) {
    // An empty batch normalises nothing and leaves the running statistics alone (as PyTorch does).
    const y = filled(x.backendImpl, x.shape, x.dtype, 0);
    return record(y, op, inputs, (g) => [g.zerosLike(), ...(weight ? [weight.zerosLike()] : []), ...(bias ? [bias.zerosLike()] : [])]);
  }

  return tidy(() => {
    const { y, mean, invstd } = noGrad(() => {
      let mean: Tensor;
      let invstd: Tensor;
      if (training) {
        mean = x.mean(axes, true);
        const variance = x.sub(mean).square().mean(axes, true);
        invstd = variance.add(eps).rsqrt();
        if (runningMean && runningVar) {
          const m = factor;
          const keepOld: number | Tensor = typeof m === 'number' ? 1 - m : m.neg().add(1);
          runningMean.copy_(runningMean.mul(keepOld).add(mean.reshape([c]).mul(m)));
          // The running variance takes the unbiased estimate, Var·M/(M − 1).
          runningVar.copy_(
            runningVar.mul(keepOld).add(
              variance
                .reshape([c])
                .mul(count / (count - 1))
                .mul(m),
            ),
          );
        }
      } else {
        mean = runningMean!.reshape(bshape);
        invstd = runningVar!.reshape(bshape).add(eps).rsqrt();
      }
      // y = x·scale + shift with scale = γ/σ and shift = β − μ·scale (PyTorch's CPU kernel computes it so too).
      const scale = weight ? invstd.mul(weight.reshape(bshape)) : invstd;
      const negShift = mean.mul(scale);
      const shift = bias ? bias.reshape(bshape).sub(negShift) : negShift.neg();
      return { y: x.mul(scale).add(shift), mean, invstd };
    });
    return record(
      y,
      op,
      inputs,
      (g) => {
        const wantX = x.requiresGrad;
        const wantW = weight !== null && weight.requiresGrad;
        const wantB = bias !== null && bias.requiresGrad;
        const xc = wantW || (wantX && training) ? x.sub(mean) : null;
        // Σ dy·(x − μ) per channel: σ·∂L/∂γ, and the projection term of the training dx.
        const dot = xc ? g.mul(xc).sum(axes, true) : null;
        const k = weight ? invstd.mul(weight.reshape(bshape)) : invstd;
        let dx: Tensor | null = null;
        if (wantX) {
          if (training) {
            // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)), with x̂ = (x − μ)/σ.
            const meanDy = g.mean(axes, true);
            const proj = xc!.mul(dot!.mul(invstd.square()).div(count));
            dx = g.sub(meanDy).sub(proj).mul(k);
          } else {
            dx = g.mul(k);
          }
        }
        const dw = wantW ? dot!.mul(invstd).reshape([c]) : null;
        const db = wantB ? g.sum(axes, false) : null;
        return [dx, ...(weight ? [dw] : []), ...(bias ? [db] : [])];
      },
      [mean, invstd],
    );
  });
}
