/** Local response normalisation (AlexNet, Section 3.3), after torch.nn.LocalResponseNorm. */
import { TesseraError } from '../errors.js';
import { localResponseNorm } from '../ops/lrn.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

export interface LocalResponseNormOptions {
  /** Default 1e-4. Note PyTorch divides alpha by size: the paper's α = 1e-4 with n = 5 is alpha = 5e-4 here. */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 1 (the paper uses k = 2). */
  k?: number;
}

/** b = a / (k + alpha/size · Σ a²)^beta over `size` neighbouring channels. */
export class LocalResponseNorm extends Module {
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(size: number, opts: LocalResponseNormOptions = {}) {
    super();
    if (!Number.isInteger(size) || size < 1) throw new TesseraError('LocalResponseNorm', `size must be a positive integer, got ${String(size)}`);
    this.size = size;
    this.alpha = opts.alpha ?? 1e-4;
    this.beta = opts.beta ?? 0.75;
    this.k = opts.k ?? 1;
  }

  override forward(x: Tensor): Tensor {
    return localResponseNorm(x, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }

  override extraRepr(): string {
    return `${this.size}, alpha=${this.alpha}, beta=${this.beta}, k=${this.k}`;
  }
}
