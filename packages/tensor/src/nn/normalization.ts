/** Normalisation layers: local response normalisation (AlexNet, Section 3.3) and batch normalisation. */
import { getBackend, initialisedBackend } from '../backend/registry.js';
import { noGrad } from '../engine.js';
import { TesseraError, fmtShape } from '../errors.js';
import { localResponseNorm } from '../ops/lrn.js';
import { batchNormCore } from '../ops/norm.js';
import { filled, requireFloat, sameBackend } from '../ops/util.js';
import { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { buffer, parameter, type LayerOptions } from './parameter.js';

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

export interface BatchNormLayerOptions extends Pick<LayerOptions, 'dtype' | 'backend'> {
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /**
   * Weight of each new batch in the running statistics (default 0.1); `null` is a cumulative moving average
   * (factor 1/num_batches_tracked), PyTorch's momentum=None.
   */
  momentum?: number | null;
  /** Learn a per-channel scale `weight` (ones) and shift `bias` (zeros). Default true. */
  affine?: boolean;
  /**
   * Keep running statistics (buffers running_mean, running_var, num_batches_tracked) and normalise with them in
   * eval mode. Default true. When false there are no buffers and the batch's statistics are used in eval too.
   */
  trackRunningStats?: boolean;
}

function formatNumber(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

/**
 * Shared by BatchNorm1d and BatchNorm2d (after torch.nn.modules.batchnorm._BatchNorm). Field names are PyTorch's
 * state-dict keys, so torchvision checkpoints load strictly: weight, bias, running_mean, running_var and
 * num_batches_tracked (an int32 scalar here; int64 in PyTorch).
 */
export abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly running_mean: Tensor | null;
  readonly running_var: Tensor | null;
  readonly num_batches_tracked: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super();
    const op = new.target.name;
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new TesseraError(op, `numFeatures must be a positive integer, got ${String(numFeatures)}`);
    const eps = opts.eps ?? 1e-5;
    if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new TesseraError(op, `eps must be a finite number ≥ 0, got ${String(eps)}`);
    const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))) {
      throw new TesseraError(op, `momentum must be a number in [0, 1] or null, got ${String(momentum)}`);
    }
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float64') throw new TesseraError(op, `parameters must be float32 or float64, got ${String(dtype)}`);
    const backend = opts.backend === undefined ? getBackend() : initialisedBackend(opts.backend, op);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const make = (value: number, kind: 'parameter' | 'buffer') => {
      const t = filled(backend, [numFeatures], dtype, value);
      return kind === 'parameter' ? parameter(t) : buffer(t);
    };
    this.weight = this.affine ? make(1, 'parameter') : null;
    this.bias = this.affine ? make(0, 'parameter') : null;
    this.running_mean = this.trackRunningStats ? make(0, 'buffer') : null;
    this.running_var = this.trackRunningStats ? make(1, 'buffer') : null;
    this.num_batches_tracked = this.trackRunningStats ? buffer(filled(backend, [], 'int32', 0)) : null;
  }

  /** Throws unless x has a rank this layer accepts. */
  protected abstract checkInput(x: Tensor): void;

  /** Sets the running statistics back to mean 0, variance 1 and the batch count to 0. */
  resetRunningStats(): void {
    noGrad(() => {
      if (this.running_mean) this.running_mean.backendImpl.kernels.fill(this.running_mean.buf('resetRunningStats'), 0);
      if (this.running_var) this.running_var.backendImpl.kernels.fill(this.running_var.buf('resetRunningStats'), 1);
      if (this.num_batches_tracked) this.num_batches_tracked.backendImpl.kernels.fill(this.num_batches_tracked.buf('resetRunningStats'), 0);
    });
  }

  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    const c = x.shape[1];
    if (c !== this.numFeatures) {
      throw new TesseraError(this.constructor.name, `expected ${this.numFeatures} channels (dim 1) but the input ${fmtShape(x.shape)} has ${String(c)}`);
    }
    // The checks that would fail inside batchNorm, made before the batch count moves.
    requireFloat(this.constructor.name, x);
    if (this.weight) sameBackend(this.constructor.name, this.weight, x);
    if (this.running_mean) sameBackend(this.constructor.name, this.running_mean, x);
    const own = this.weight ?? this.running_mean;
    if (own && own.dtype !== x.dtype) throw new TesseraError(this.constructor.name, `the layer is ${own.dtype} but the input is ${x.dtype}; cast one of them`);
    if (this.training && x.size > 0 && x.size / this.numFeatures <= 1) {
      throw new TesseraError(this.constructor.name, `Expected more than 1 value per channel when training, got input size ${fmtShape(x.shape)}`);
    }
    let factor: number | Tensor = this.momentum ?? 0;
    const nbt = this.num_batches_tracked;
    if (this.training && this.trackRunningStats && nbt) {
      const cumulative = this.momentum === null;
      const f = noGrad(() => {
        const next = nbt.add(1);
        nbt.copy_(next);
        next.dispose();
        if (!cumulative) return null;
        // momentum null: the factor 1/num_batches_tracked, computed where the count lives (no read-back).
        const n = nbt.cast(x.dtype);
        const r = n.reciprocal();
        n.dispose();
        return r;
      });
      if (f) factor = f;
    }
    const ownFactor = factor instanceof Tensor ? factor : null;
    // As PyTorch: batch statistics when training, or in eval when there are no running statistics.
    const useBatchStats = this.training || (this.running_mean === null && this.running_var === null);
    const passStats = !this.training || this.trackRunningStats;
    try {
      return batchNormCore(
        x,
        passStats ? this.running_mean : null,
        passStats ? this.running_var : null,
        this.weight,
        this.bias,
        useBatchStats,
        factor,
        this.eps,
      );
    } finally {
      ownFactor?.dispose();
    }
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${formatNumber(this.eps)}, momentum=${this.momentum === null ? 'null' : formatNumber(this.momentum)}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Batch normalisation of [N, C] or [N, C, L] over every dim but C, after torch.nn.BatchNorm1d. */
export class BatchNorm1d extends BatchNorm {
  protected override checkInput(x: Tensor): void {
    if (!(x instanceof Tensor)) throw new TesseraError('BatchNorm1d', `input must be a Tensor, got ${typeof x}`);
    if (x.rank !== 2 && x.rank !== 3) throw new TesseraError('BatchNorm1d', `expected 2D or 3D input (got ${x.rank}D input ${fmtShape(x.shape)})`);
  }
}

/** Batch normalisation of [N, C, H, W] over N, H and W per channel, after torch.nn.BatchNorm2d. */
export class BatchNorm2d extends BatchNorm {
  protected override checkInput(x: Tensor): void {
    if (!(x instanceof Tensor)) throw new TesseraError('BatchNorm2d', `input must be a Tensor, got ${typeof x}`);
    if (x.rank !== 4) throw new TesseraError('BatchNorm2d', `expected 4D input (got ${x.rank}D input ${fmtShape(x.shape)})`);
  }
}
