/** Pooling layers, after torch.nn.MaxPool2d, AvgPool2d and AdaptiveAvgPool2d. */
import { pair, type Pair } from '../ops/conv.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../ops/pool.js';
import type { Tensor } from '../tensor.js';
import { fmtPair } from './conv.js';
import { Module } from './module.js';

export interface Pool2dLayerOptions {
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  /** Round the output size up (PyTorch's ceil_mode). */
  ceilMode?: boolean;
}

/** Max over kernelSize windows; AlexNet's overlapping pooling is MaxPool2d(3, { stride: 2 }). */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, opts: Pool2dLayerOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize, 1, 'kernelSize', 'MaxPool2d', 1);
    this.stride = pair(opts.stride ?? kernelSize, 1, 'stride', 'MaxPool2d', 1);
    this.padding = pair(opts.padding, 0, 'padding', 'MaxPool2d', 0);
    this.ceilMode = opts.ceilMode ?? false;
  }

  override forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode });
  }

  override extraRepr(): string {
    return `kernelSize=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}, padding=${fmtPair(this.padding)}, ceilMode=${this.ceilMode}`;
  }
}

export interface AvgPool2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  /** Count padded cells in the divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
  /** Round the output size up (PyTorch's ceil_mode); a last window past the padded input divides by its clipped size, as PyTorch. */
  ceilMode?: boolean;
}

export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly countIncludePad: boolean;
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, opts: AvgPool2dLayerOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize, 1, 'kernelSize', 'AvgPool2d', 1);
    this.stride = pair(opts.stride ?? kernelSize, 1, 'stride', 'AvgPool2d', 1);
    this.padding = pair(opts.padding, 0, 'padding', 'AvgPool2d', 0);
    this.countIncludePad = opts.countIncludePad ?? true;
    this.ceilMode = opts.ceilMode ?? false;
  }

  override forward(x: Tensor): Tensor {
    return avgPool2d(x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      countIncludePad: this.countIncludePad,
      ceilMode: this.ceilMode,
    });
  }

  override extraRepr(): string {
    return `kernelSize=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}, padding=${fmtPair(this.padding)}, ceilMode=${this.ceilMode}, countIncludePad=${this.countIncludePad}`;
  }
}

/** Average pooling to a fixed output size (torchvision's AlexNet uses 6×6 before the classifier). */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];

  constructor(outputSize: Pair) {
    super();
    this.outputSize = pair(outputSize, 1, 'outputSize', 'AdaptiveAvgPool2d', 1);
  }

  override forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `outputSize=${fmtPair(this.outputSize)}`;
  }
}
