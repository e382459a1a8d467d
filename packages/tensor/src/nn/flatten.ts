/** Flattens a range of dims into one, after torch.nn.Flatten. */
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/** [N, C, H, W] → [N, C·H·W] with the defaults (startDim 1, endDim −1); a view sharing the buffer. */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }

  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
