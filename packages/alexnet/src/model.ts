/**
 * AlexNet, built only from @tessera/tensor's public API.
 *
 * - `paper`: Krizhevsky, Sutskever & Hinton (2012), Section 3 — 96-256-384-384-256 kernels, LRN after conv1 and
 *   conv2 (k = 2, n = 5, α = 1e-4, β = 0.75), overlapping 3×3/2 max-pooling, and the two-GPU split expressed as
 *   groups = 2 in conv2, conv4 and conv5 (conv3 and the FC layers see both halves). 60,965,224 parameters for
 *   1000 classes.
 * - `torchvision`: torchvision.models.alexnet (64-192-384-256-256, no LRN, adaptive average pool to 6×6), with its
 *   state-dict keys (`features.0.weight` … `classifier.6.bias`).
 * - `reduced`: the paper's layer kinds (LRN, overlapping pooling, grouped convs, dropout) at a width and input size
 *   that train on two CPU cores in minutes (Fashion-MNIST's 1×28×28 by default).
 */
import { F, TesseraError, nn, type Tensor } from '@tessera/tensor';

export type AlexNetVariant = 'paper' | 'torchvision' | 'reduced';

/** The smallest side torchvision's AlexNet accepts (its weights' min_size): conv1 and three 3×3/2 pools leave 1×1. */
export const TORCHVISION_MIN_SIDE = 63;

export interface AlexNetOptions {
  variant?: AlexNetVariant;
  numClasses?: number;
  /** Dropout probability before FC6 and FC7 (the paper: 0.5). */
  dropout?: number;
  /** Paper variant: conv1 padding (2 for 224×224 input; 0 with 227×227 input reproduces BVLC/Caffe). */
  conv1Padding?: number;
  /**
   * Reduced variant: input channels (default 1) and side (default 28). torchvision variant: input channels
   * (default 3; changes only conv1).
   */
  inChannels?: number;
  inputSize?: number;
  /** Reduced variant: multiplies every conv width (default 1: 16-32-48-48-32). */
  widthMultiplier?: number;
  /** Seeds the initialisation (paper / reduced: N(0, 0.01) weights and the paper's biases). */
  seed?: number;
  /**
   * 'paper': N(0, 0.01) weights and the paper's biases (default for 'paper'); 'pytorch': torch's default layer
   * init (default for 'torchvision'); 'kaiming': He-normal weights for ReLU and zero biases (default for
   * 'reduced', where N(0, 0.01) leaves a small network's signal too weak to train in a few epochs); 'none': zeros,
   * for loading weights.
   */
  init?: 'paper' | 'pytorch' | 'kaiming' | 'none';
}

/** The paper's LRN: b = a / (k + α Σ a²)^β; F.localResponseNorm divides α by n, so pass α·n. */
export const PAPER_LRN = { size: 5, alpha: 1e-4 * 5, beta: 0.75, k: 2 } as const;

export class AlexNet extends nn.Module {
  readonly variant: AlexNetVariant;
  readonly numClasses: number;
  /** Expected input: [channels, height, width]. */
  readonly inputShape: [number, number, number];
  readonly features: nn.Sequential;
  readonly avgpool: nn.AdaptiveAvgPool2d | null;
  readonly classifier: nn.Sequential;

  constructor(opts: AlexNetOptions = {}) {
    super();
    const variant = opts.variant ?? 'paper';
    const numClasses = opts.numClasses ?? (variant === 'reduced' ? 10 : 1000);
    const p = opts.dropout ?? 0.5;
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new TesseraError('alexnet', `numClasses must be a positive integer, got ${numClasses}`);
    if (!(p >= 0 && p < 1)) throw new TesseraError('alexnet', `dropout must be in [0, 1), got ${p}`);
    this.variant = variant;
    this.numClasses = numClasses;
    const lrn = () => new nn.LocalResponseNorm(PAPER_LRN.size, { alpha: PAPER_LRN.alpha, beta: PAPER_LRN.beta, k: PAPER_LRN.k });
    const pool = (padding = 0) => new nn.MaxPool2d(3, { stride: 2, padding });
    const seeds = opts.seed === undefined ? undefined : opts.seed;
    const init = opts.init ?? (variant === 'torchvision' ? 'pytorch' : variant === 'reduced' ? 'kaiming' : 'paper');
    if (!['paper', 'pytorch', 'kaiming', 'none'].includes(init)) {
      throw new TesseraError('alexnet', `init must be 'paper', 'pytorch', 'kaiming' or 'none', got ${JSON.stringify(init)}`);
    }
    let layer = 0;
    // Each layer gets its own derived seed so the init does not depend on construction order elsewhere; PyTorch's
    // default initialisation is skipped where the paper's (or loaded weights) replace it.
    const s = (): nn.LayerOptions => ({
      ...(seeds === undefined ? {} : { seed: seeds * 1000 + layer++ }),
      ...(init === 'pytorch' ? {} : { init: 'none' as const }),
    });
    if (variant === 'paper') {
      const pad1 = opts.conv1Padding ?? 2;
      const side = pad1 === 0 ? 227 : 224;
      this.inputShape = [3, side, side];
      this.features = new nn.Sequential(
        new nn.Conv2d(3, 96, 11, { stride: 4, padding: pad1, ...s() }),
        new nn.ReLU(),
        lrn(),
        pool(),
        new nn.Conv2d(96, 256, 5, { padding: 2, groups: 2, ...s() }),
        new nn.ReLU(),
        lrn(),
        pool(),
        new nn.Conv2d(256, 384, 3, { padding: 1, ...s() }),
        new nn.ReLU(),
        new nn.Conv2d(384, 384, 3, { padding: 1, groups: 2, ...s() }),
        new nn.ReLU(),
        new nn.Conv2d(384, 256, 3, { padding: 1, groups: 2, ...s() }),
        new nn.ReLU(),
        pool(),
      );
      this.avgpool = null;
      this.classifier = classifierHead(256 * 6 * 6, 4096, numClasses, p, s, 'after');
    } else if (variant === 'torchvision') {
      const c = opts.inChannels ?? 3;
      if (!Number.isInteger(c) || c < 1) throw new TesseraError('alexnet', `inChannels must be a positive integer, got ${c}`);
      this.inputShape = [c, 224, 224];
      this.features = new nn.Sequential(
        new nn.Conv2d(c, 64, 11, { stride: 4, padding: 2, ...s() }),
        new nn.ReLU(),
        pool(),
        new nn.Conv2d(64, 192, 5, { padding: 2, ...s() }),
        new nn.ReLU(),
        pool(),
        new nn.Conv2d(192, 384, 3, { padding: 1, ...s() }),
        new nn.ReLU(),
        new nn.Conv2d(384, 256, 3, { padding: 1, ...s() }),
        new nn.ReLU(),
        new nn.Conv2d(256, 256, 3, { padding: 1, ...s() }),
        new nn.ReLU(),
        pool(),
      );
      this.avgpool = new nn.AdaptiveAvgPool2d(6);
      this.classifier = classifierHead(256 * 6 * 6, 4096, numClasses, p, s, 'before');
    } else if (variant === 'reduced') {
      const c = opts.inChannels ?? 1;
      const side = opts.inputSize ?? 28;
      const m = opts.widthMultiplier ?? 1;
      // Widths stay even so groups = 2 splits them.
      const w = (base: number) => Math.max(2, 2 * Math.round((base * m) / 2));
      const [w1, w2, w3, w4, w5] = [w(16), w(32), w(48), w(48), w(32)];
      this.inputShape = [c, side, side];
      this.features = new nn.Sequential(
        new nn.Conv2d(c, w1, 5, { padding: 2, ...s() }),
        new nn.ReLU(),
        lrn(),
        pool(1),
        new nn.Conv2d(w1, w2, 5, { padding: 2, groups: 2, ...s() }),
        new nn.ReLU(),
        lrn(),
        pool(1),
        new nn.Conv2d(w2, w3, 3, { padding: 1, ...s() }),
        new nn.ReLU(),
        new nn.Conv2d(w3, w4, 3, { padding: 1, groups: 2, ...s() }),
        new nn.ReLU(),
        new nn.Conv2d(w4, w5, 3, { padding: 1, groups: 2, ...s() }),
        new nn.ReLU(),
        pool(1),
      );
      const spatial = reducedSpatial(side);
      if (spatial < 1) throw new TesseraError('alexnet', `inputSize ${side} is too small for the reduced AlexNet (needs ≥ 3)`);
      this.avgpool = null;
      this.classifier = classifierHead(w5 * spatial * spatial, Math.max(64, Math.round(256 * m)), numClasses, p, s, 'after');
    } else {
      throw new TesseraError('alexnet', `unknown variant ${JSON.stringify(variant)}; expected 'paper', 'torchvision' or 'reduced'`);
    }
    if (init === 'paper') this.paperInit(opts.seed);
    if (init === 'kaiming') this.kaimingInit(opts.seed);
  }

  /**
   * Section 5: weights from N(0, 0.01); biases 1 in conv2, conv4, conv5 and the hidden FC layers (to give
   * ReLUs positive inputs early on), 0 elsewhere.
   */
  paperInit(seed?: number): void {
    const convs = this.features.children().filter((m): m is nn.Conv2d => m instanceof nn.Conv2d);
    const fcs = this.classifier.children().filter((m): m is nn.Linear => m instanceof nn.Linear);
    const layers: (nn.Conv2d | nn.Linear)[] = [...convs, ...fcs];
    const onesBias = new Set<nn.Conv2d | nn.Linear>([convs[1]!, convs[3]!, convs[4]!, fcs[0]!, fcs[1]!]);
    layers.forEach((l, i) => {
      nn.init.normal_(l.weight, { mean: 0, std: 0.01, ...(seed === undefined ? {} : { seed: seed * 1000 + 500 + i }) });
      if (l.bias) nn.init.constant_(l.bias, onesBias.has(l) ? 1 : 0);
    });
  }

  /** He-normal weights (fan-in, ReLU gain) and zero biases. */
  kaimingInit(seed?: number): void {
    this.layers().forEach((l, i) => {
      nn.init.kaimingNormal_(l.weight, { nonlinearity: 'relu', ...(seed === undefined ? {} : { seed: seed * 1000 + 700 + i }) });
      if (l.bias) nn.init.constant_(l.bias, 0);
    });
  }

  /** The convolution and fully connected layers, in order. */
  layers(): (nn.Conv2d | nn.Linear)[] {
    return this.modules().filter((m): m is nn.Conv2d | nn.Linear => m instanceof nn.Conv2d || m instanceof nn.Linear);
  }

  override forward(x: Tensor): Tensor {
    const [c, h, w] = this.inputShape;
    if (this.variant === 'torchvision') {
      // The adaptive 6×6 pool takes any map: like torchvision's, any input from 63×63 (its min_size) works.
      if (x.rank !== 4 || x.shape[1] !== c || x.shape[2]! < TORCHVISION_MIN_SIDE || x.shape[3]! < TORCHVISION_MIN_SIDE) {
        throw new TesseraError(
          'AlexNet.forward',
          `expects input [N, ${c}, H, W] with H, W ≥ ${TORCHVISION_MIN_SIDE} for the torchvision variant (224 nominal), got [${x.shape.join(', ')}]`,
        );
      }
    } else if (x.rank !== 4 || x.shape[1] !== c || x.shape[2] !== h || x.shape[3] !== w) {
      throw new TesseraError('AlexNet.forward', `expects input [N, ${c}, ${h}, ${w}] for the ${this.variant} variant, got [${x.shape.join(', ')}]`);
    }
    let y = this.features.forward(x);
    if (this.avgpool) y = this.avgpool.forward(y);
    return this.classifier.forward(y.flatten(1));
  }
}

/**
 * Spatial size after the reduced features stack (convs keep the size; each 3×3/2 pool is padded by 1, so a small
 * input keeps more of its detail: 28 → 14 → 7 → 4).
 */
function reducedSpatial(side: number): number {
  const pool = (n: number) => Math.floor((n + 2 - 3) / 2) + 1;
  return pool(pool(pool(side)));
}

/**
 * FC6 → ReLU → FC7 → ReLU → FC8 with dropout 0.5. The paper drops FC6's and FC7's outputs (`after`);
 * torchvision drops their inputs (`before`), which changes the state-dict indices, so both are kept exact.
 */
function classifierHead(
  inFeatures: number,
  hidden: number,
  numClasses: number,
  p: number,
  s: () => nn.LayerOptions,
  dropout: 'before' | 'after',
): nn.Sequential {
  if (dropout === 'after') {
    return new nn.Sequential(
      new nn.Linear(inFeatures, hidden, s()),
      new nn.ReLU(),
      new nn.Dropout(p),
      new nn.Linear(hidden, hidden, s()),
      new nn.ReLU(),
      new nn.Dropout(p),
      new nn.Linear(hidden, numClasses, s()),
    );
  }
  return new nn.Sequential(
    new nn.Dropout(p),
    new nn.Linear(inFeatures, hidden, s()),
    new nn.ReLU(),
    new nn.Dropout(p),
    new nn.Linear(hidden, hidden, s()),
    new nn.ReLU(),
    new nn.Linear(hidden, numClasses, s()),
  );
}

export function alexnet(opts: AlexNetOptions = {}): AlexNet {
  return new AlexNet(opts);
}

/** Softmax probabilities averaged over crops: logits [N·crops, C] → [N, C]. */
export function averageCropProbabilities(logits: Tensor, crops: number): Tensor {
  const [rows, classes] = logits.shape as [number, number];
  if (rows % crops !== 0) throw new TesseraError('averageCropProbabilities', `${rows} rows are not a multiple of ${crops} crops`);
  return F.softmax(logits, -1)
    .reshape([rows / crops, crops, classes])
    .mean(1);
}
