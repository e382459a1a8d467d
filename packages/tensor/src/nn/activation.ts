/** Elementwise activation layers. */
import { TesseraError } from '../errors.js';
import { hardtanh } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/** max(x, 0). */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/** min(max(x, minVal), maxVal), after torch.nn.Hardtanh; the gradient passes only strictly inside (minVal, maxVal). */
export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;

  constructor(minVal = -1, maxVal = 1) {
    super();
    if (typeof minVal !== 'number' || typeof maxVal !== 'number' || Number.isNaN(minVal) || Number.isNaN(maxVal)) {
      throw new TesseraError('Hardtanh', `minVal and maxVal must be numbers, got ${String(minVal)} and ${String(maxVal)}`);
    }
    // PyTorch's Hardtanh asserts max_val > min_val.
    if (!(maxVal > minVal)) throw new TesseraError('Hardtanh', `maxVal (${maxVal}) must be greater than minVal (${minVal})`);
    this.minVal = minVal;
    this.maxVal = maxVal;
  }

  override forward(x: Tensor): Tensor {
    return hardtanh(x, this.minVal, this.maxVal);
  }

  override extraRepr(): string {
    return `minVal=${this.minVal}, maxVal=${this.maxVal}`;
  }
}

/** min(max(x, 0), 6), after torch.nn.ReLU6 (MobileNet's activation). */
export class ReLU6 extends Module {
  override forward(x: Tensor): Tensor {
    return hardtanh(x, 0, 6, 'relu6');
  }
}
