/** Dropout (AlexNet, Section 4.2), after torch.nn.Dropout. */
import { TesseraError } from '../errors.js';
import { dropout } from '../ops/misc.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/**
 * While training, zeroes each element with probability p (mask drawn from the global generator) and scales
 * the survivors by 1/(1−p); in eval mode, the identity. The paper's test-time "multiply by 0.5" is the same
 * network, since the scaling happens at training time here (inverted dropout).
 */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new TesseraError('Dropout', `dropout probability must be in [0, 1], got ${String(p)}`);
    this.p = p;
  }

  override forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
