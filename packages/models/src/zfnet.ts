/**
 * ZFNet (Zeiler & Fergus 2013, "Visualizing and Understanding Convolutional Networks", Fig. 3): AlexNet with
 * conv1 7×7 stride 2 (instead of 11×11 stride 4) and conv2 stride 2, single-GPU (no grouped convolutions).
 * From the paper's figure: 224×224 input → conv1 96@7×7/2 → 110×110 → 3×3/2 max pool → 55×55 → contrast
 * normalisation → conv2 256@5×5/2 → 26×26 → 3×3/2 pool → 13×13 → normalisation → conv3 384@3×3 → conv4
 * 384@3×3 → conv5 256@3×3 → 3×3/2 pool → 6×6 → FC 4096 → FC 4096 → classes. The pads and rounding are derived
 * from those sizes: conv1 padding 1 (⌊(224 + 2 − 7)/2⌋ + 1 = 110), conv2 padding 0 (⌊(55 − 5)/2⌋ + 1 = 26),
 * conv3–5 padding 1, and the pools round up (Caffe's pooling; 110 → 55 and 26 → 13 need ceil mode).
 *
 * Like torchvision's AlexNet (its closest relative, whose layout and keys it follows): adaptive 6×6 average
 * pooling before the classifier (so any input ≥ the minimum works), dropout 0.5 before FC6 and FC7, PyTorch's
 * default layer initialisation (the paper's N(0, 10⁻²) weights and zero biases: `paperInit`). The contrast
 * normalisation is AlexNet's LRN (size 5, α = 10⁻⁴, β = 0.75, k = 2), since the paper does not give its own.
 * Keys: features.{0,4,8,10,12}.{weight,bias}, classifier.{1,4,6}.{weight,bias}.
 */
import { PAPER_LRN } from '@tessera/alexnet';
import { TesseraError, nn, type Tensor } from '@tessera/tensor';
import {
  COMMON_KEYS,
  LayerFactory,
  checkInput,
  checkKeys,
  positiveInt,
  probability,
  traceModule,
  type MacCounter,
  type ModelOptions,
  type Shape,
  type ZooModel,
} from './common.js';

export interface ZFNetOptions extends ModelOptions {
  /** Dropout before FC6 and FC7 (default 0.5). */
  dropout?: number;
  /** 'pytorch' (default: PyTorch's layer init, as torchvision's AlexNet) or 'paper' (N(0, 0.01), biases 0). */
  weightInit?: 'pytorch' | 'paper';
}

export class ZFNet extends nn.Module implements ZooModel {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly features: nn.Sequential;
  readonly avgpool: nn.AdaptiveAvgPool2d;
  readonly classifier: nn.Sequential;

  constructor(opts: ZFNetOptions = {}) {
    super();
    const op = 'zfnet';
    checkKeys(op, opts, [...COMMON_KEYS, 'dropout', 'weightInit']);
    this.numClasses = positiveInt(op, 'numClasses', opts.numClasses ?? 1000);
    this.inChannels = positiveInt(op, 'inChannels', opts.inChannels ?? 3);
    const p = probability(op, 'dropout', opts.dropout ?? 0.5);
    const weightInit = opts.weightInit ?? 'pytorch';
    if (weightInit !== 'pytorch' && weightInit !== 'paper')
      throw new TesseraError(op, `weightInit must be 'pytorch' or 'paper', got ${JSON.stringify(weightInit)}`);
    const f = new LayerFactory(op, opts);
    const lrn = () => new nn.LocalResponseNorm(PAPER_LRN.size, { alpha: PAPER_LRN.alpha, beta: PAPER_LRN.beta, k: PAPER_LRN.k });
    const pool = () => new nn.MaxPool2d(3, { stride: 2, ceilMode: true });
    this.features = new nn.Sequential(
      f.conv(this.inChannels, 96, 7, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      pool(),
      lrn(),
      f.conv(96, 256, 5, { stride: 2 }),
      new nn.ReLU(),
      pool(),
      lrn(),
      f.conv(256, 384, 3, { padding: 1 }),
      new nn.ReLU(),
      f.conv(384, 384, 3, { padding: 1 }),
      new nn.ReLU(),
      f.conv(384, 256, 3, { padding: 1 }),
      new nn.ReLU(),
      pool(),
    );
    this.avgpool = new nn.AdaptiveAvgPool2d(6);
    this.classifier = new nn.Sequential(
      new nn.Dropout(p),
      f.linear(256 * 6 * 6, 4096),
      new nn.ReLU(),
      new nn.Dropout(p),
      f.linear(4096, 4096),
      new nn.ReLU(),
      f.linear(4096, this.numClasses),
    );
    for (const m of this.modules()) {
      if (!(m instanceof nn.Conv2d || m instanceof nn.Linear)) continue;
      if (weightInit === 'pytorch') f.pytorchDefault(m);
      else {
        f.normal(m.weight, 0.01);
        f.constant(m.bias, 0);
      }
    }
  }

  override forward(x: Tensor): Tensor {
    checkInput(this, x, 'ZFNet');
    return this.classifier.forward(this.avgpool.forward(this.features.forward(x)).flatten(1));
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const s = traceModule(this.avgpool, traceModule(this.features, input, count, 'features'), count, 'avgpool');
    return traceModule(this.classifier, [s.reduce((a, b) => a * b, 1)], count, 'classifier');
  }
}

export function zfnet(opts: ZFNetOptions = {}): ZFNet {
  return new ZFNet(opts);
}
