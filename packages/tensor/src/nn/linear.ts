/** The fully connected layer, after torch.nn.Linear. */
import { TesseraError } from '../errors.js';
import { linear } from '../ops/conv.js';
import type { Tensor } from '../tensor.js';
import { calculateFanInAndFanOut, deriveSeed, kaimingUniform_, uniform_ } from './init.js';
import { Module } from './module.js';
import { emptyParameter, type LayerOptions } from './parameter.js';

export interface LinearOptions extends LayerOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x·Wᵀ + b for x [*, inFeatures], W [outFeatures, inFeatures], b [outFeatures]. Initialised as PyTorch
 * does: W by kaiming uniform with a = √5, i.e. U(±1/√inFeatures), and b from U(±1/√inFeatures).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    const op = 'Linear';
    for (const [name, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new TesseraError(op, `${name} must be a non-negative integer, got ${String(v)}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = emptyParameter([outFeatures, inFeatures], opts, op);
    this.bias = (opts.bias ?? true) ? emptyParameter([outFeatures], opts, op) : null;
    if (opts.init !== 'none') resetAffine(this.weight, this.bias, opts.seed);
  }

  override forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/**
 * PyTorch's default initialisation of a Linear or Conv weight and bias: kaiming uniform with a = √5, and
 * U(±1/√fanIn) for the bias. The weight takes `seed`, the bias a seed derived from it.
 */
export function resetAffine(weight: Tensor, bias: Tensor | null, seed: number | undefined): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), ...(seed === undefined ? {} : { seed }) });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, { low: -bound, high: bound, ...(seed === undefined ? {} : { seed: deriveSeed(seed, 1) }) });
  }
}
