/** The 2-D convolution layer, after torch.nn.Conv2d. */
import { TesseraError } from '../errors.js';
import { conv2d, pair, type Pair } from '../ops/conv.js';
import type { Tensor } from '../tensor.js';
import { resetAffine } from './linear.js';
import { Module } from './module.js';
import { emptyParameter, type LayerOptions } from './parameter.js';

export interface Conv2dLayerOptions extends LayerOptions {
  stride?: Pair;
  /** Zero padding on each side (default 0). */
  padding?: Pair;
  dilation?: Pair;
  /** Channel groups (AlexNet's two-GPU split is groups = 2); must divide both channel counts. */
  groups?: number;
  /** Learn a per-output-channel bias (default true). */
  bias?: boolean;
}

/**
 * x [N, inChannels, H, W] → [N, outChannels, H', W'] with weight [outChannels, inChannels/groups, kH, kW].
 * Initialised as PyTorch does: kaiming uniform with a = √5 (U(±1/√fanIn)) for the weight, U(±1/√fanIn) for
 * the bias, fanIn = inChannels/groups·kH·kW.
 */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dLayerOptions = {}) {
    super();
    const op = 'Conv2d';
    for (const [name, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TesseraError(op, `${name} must be a positive integer, got ${String(v)}`);
    }
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1) throw new TesseraError(op, `groups must be a positive integer, got ${String(groups)}`);
    if (inChannels % groups !== 0) throw new TesseraError(op, `inChannels (${inChannels}) must be divisible by groups (${groups})`);
    if (outChannels % groups !== 0) throw new TesseraError(op, `outChannels (${outChannels}) must be divisible by groups (${groups})`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize, 1, 'kernelSize', op, 1);
    this.stride = pair(opts.stride, 1, 'stride', op, 1);
    this.padding = pair(opts.padding, 0, 'padding', op, 0);
    this.dilation = pair(opts.dilation, 1, 'dilation', op, 1);
    this.groups = groups;
    this.weight = emptyParameter([outChannels, inChannels / groups, ...this.kernelSize], opts, op);
    this.bias = (opts.bias ?? true) ? emptyParameter([outChannels], opts, op) : null;
    if (opts.init !== 'none') resetAffine(this.weight, this.bias, opts.seed);
  }

  override forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=${fmtPair(this.kernelSize)}, stride=${fmtPair(this.stride)}`;
    if (this.padding[0] !== 0 || this.padding[1] !== 0) s += `, padding=${fmtPair(this.padding)}`;
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1) s += `, dilation=${fmtPair(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=false';
    return s;
  }
}

/** `(a, b)`, as PyTorch prints tuples. */
export function fmtPair(p: readonly [number, number]): string {
  return `(${p[0]}, ${p[1]})`;
}
