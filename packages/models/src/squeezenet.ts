/**
 * SqueezeNet 1.1 (Iandola et al. 2016; the 1.1 revision from the authors' repository, 2.4× less computation than
 * 1.0 at the same accuracy), torchvision's `squeezenet1_1`: a 3×3/2 stem with 64 filters, Fire modules (1×1
 * squeeze, then 1×1 and 3×3 expand, concatenated), ceil-mode 3×3/2 max pools, and a 1×1 convolution classifier
 * with global average pooling. Initialisation as torchvision's: kaiming uniform (torch's defaults) for every
 * convolution but the last, N(0, 0.01) for the final one, zero biases. Keys: features.{0,3,4,6,7,9,10,11,12}.*
 * (Fire: squeeze, expand1x1, expand3x3), classifier.1.*.
 */
import { TesseraError, cat, nn, type Tensor } from '@tessera/tensor';
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
  type Traceable,
  type ZooModel,
} from './common.js';

export interface SqueezeNetOptions extends ModelOptions {
  /** Dropout before the final convolution (default 0.5). */
  dropout?: number;
}

export class Fire extends nn.Module implements Traceable {
  readonly inplanes: number;
  readonly squeeze: nn.Conv2d;
  readonly squeeze_activation: nn.ReLU;
  readonly expand1x1: nn.Conv2d;
  readonly expand1x1_activation: nn.ReLU;
  readonly expand3x3: nn.Conv2d;
  readonly expand3x3_activation: nn.ReLU;

  constructor(f: LayerFactory, inplanes: number, squeezePlanes: number, expand1x1Planes: number, expand3x3Planes: number) {
    super();
    this.inplanes = inplanes;
    this.squeeze = f.conv(inplanes, squeezePlanes, 1);
    this.squeeze_activation = new nn.ReLU();
    this.expand1x1 = f.conv(squeezePlanes, expand1x1Planes, 1);
    this.expand1x1_activation = new nn.ReLU();
    this.expand3x3 = f.conv(squeezePlanes, expand3x3Planes, 3, { padding: 1 });
    this.expand3x3_activation = new nn.ReLU();
  }

  override forward(x: Tensor): Tensor {
    const s = this.squeeze.forward(x).relu();
    return cat([this.expand1x1.forward(s).relu(), this.expand3x3.forward(s).relu()], 1);
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const s = traceModule(this.squeeze, input, count, 'squeeze');
    const a = traceModule(this.expand1x1, s, count, 'expand1x1');
    const b = traceModule(this.expand3x3, s, count, 'expand3x3');
    if (a[1] !== b[1] || a[2] !== b[2]) throw new TesseraError('Fire', `expand branches disagree: [${a.join(', ')}] and [${b.join(', ')}]`);
    return [a[0]! + b[0]!, a[1]!, a[2]!];
  }
}

export class SqueezeNet extends nn.Module implements ZooModel {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly features: nn.Sequential;
  readonly classifier: nn.Sequential;

  constructor(opts: SqueezeNetOptions = {}) {
    super();
    const op = 'squeezenet1_1';
    checkKeys(op, opts, [...COMMON_KEYS, 'dropout']);
    this.numClasses = positiveInt(op, 'numClasses', opts.numClasses ?? 1000);
    this.inChannels = positiveInt(op, 'inChannels', opts.inChannels ?? 3);
    const p = probability(op, 'dropout', opts.dropout ?? 0.5);
    const f = new LayerFactory(op, opts);
    const pool = () => new nn.MaxPool2d(3, { stride: 2, ceilMode: true });
    this.features = new nn.Sequential(
      f.conv(this.inChannels, 64, 3, { stride: 2 }),
      new nn.ReLU(),
      pool(),
      new Fire(f, 64, 16, 64, 64),
      new Fire(f, 128, 16, 64, 64),
      pool(),
      new Fire(f, 128, 32, 128, 128),
      new Fire(f, 256, 32, 128, 128),
      pool(),
      new Fire(f, 256, 48, 192, 192),
      new Fire(f, 384, 48, 192, 192),
      new Fire(f, 384, 64, 256, 256),
      new Fire(f, 512, 64, 256, 256),
    );
    const finalConv = f.conv(512, this.numClasses, 1);
    this.classifier = new nn.Sequential(new nn.Dropout(p), finalConv, new nn.ReLU(), new nn.AdaptiveAvgPool2d(1));
    for (const m of this.modules()) {
      if (!(m instanceof nn.Conv2d)) continue;
      if (m === finalConv) f.normal(m.weight, 0.01);
      else f.kaimingUniform(m.weight);
      f.constant(m.bias, 0);
    }
  }

  override forward(x: Tensor): Tensor {
    checkInput(this, x, 'SqueezeNet');
    return this.classifier.forward(this.features.forward(x)).flatten(1);
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const s = traceModule(this.classifier, traceModule(this.features, input, count, 'features'), count, 'classifier');
    return [s.reduce((a, b) => a * b, 1)];
  }
}

export function squeezenet1_1(opts: SqueezeNetOptions = {}): SqueezeNet {
  return new SqueezeNet(opts);
}
