/**
 * VGG (Simonyan & Zisserman 2014), torchvision's `VGG`: configurations A (VGG-11) and D (VGG-16), with or without
 * batch normalisation after every convolution, adaptive 7×7 average pooling and the 4096-4096 classifier.
 * Initialisation as torchvision's: convolutions kaiming normal (fan-out, ReLU), zero biases; BatchNorm 1 / 0;
 * linear layers N(0, 0.01), zero biases. Keys: features.N.{weight,bias} (BatchNorm: also running_mean,
 * running_var, num_batches_tracked), classifier.{0,3,6}.{weight,bias}.
 */
import { nn, type Tensor } from '@tessera/tensor';
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

export interface VGGOptions extends ModelOptions {
  /** Dropout in the classifier (default 0.5). */
  dropout?: number;
}

export type VGGConfig = 'A' | 'D';

/** torchvision's `cfgs`: channel counts, 'M' for a 2×2 max pool. */
export const VGG_CONFIGS: Record<VGGConfig, readonly (number | 'M')[]> = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
};

export class VGG extends nn.Module implements ZooModel {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly config: VGGConfig;
  readonly batchNorm: boolean;
  readonly features: nn.Sequential;
  readonly avgpool: nn.AdaptiveAvgPool2d;
  readonly classifier: nn.Sequential;

  constructor(config: VGGConfig, batchNorm: boolean, opts: VGGOptions = {}) {
    super();
    const op = `vgg${config === 'A' ? 11 : 16}${batchNorm ? '_bn' : ''}`;
    checkKeys(op, opts, [...COMMON_KEYS, 'dropout']);
    this.numClasses = positiveInt(op, 'numClasses', opts.numClasses ?? 1000);
    this.inChannels = positiveInt(op, 'inChannels', opts.inChannels ?? 3);
    const p = probability(op, 'dropout', opts.dropout ?? 0.5);
    this.config = config;
    this.batchNorm = batchNorm;
    const f = new LayerFactory(op, opts);
    this.features = new nn.Sequential();
    let c = this.inChannels;
    for (const v of VGG_CONFIGS[config]) {
      if (v === 'M') {
        this.features.append(new nn.MaxPool2d(2, { stride: 2 }));
        continue;
      }
      this.features.append(f.conv(c, v, 3, { padding: 1 }));
      if (batchNorm) this.features.append(f.batchNorm(v));
      this.features.append(new nn.ReLU());
      c = v;
    }
    this.avgpool = new nn.AdaptiveAvgPool2d(7);
    this.classifier = new nn.Sequential(
      f.linear(512 * 7 * 7, 4096),
      new nn.ReLU(),
      new nn.Dropout(p),
      f.linear(4096, 4096),
      new nn.ReLU(),
      new nn.Dropout(p),
      f.linear(4096, this.numClasses),
    );
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        f.kaimingNormalFanOut(m.weight);
        f.constant(m.bias, 0);
      } else if (m instanceof nn.BatchNorm2d) {
        f.batchNormInit(m);
      } else if (m instanceof nn.Linear) {
        f.normal(m.weight, 0.01);
        f.constant(m.bias, 0);
      }
    }
  }

  override forward(x: Tensor): Tensor {
    checkInput(this, x, 'VGG');
    return this.classifier.forward(this.avgpool.forward(this.features.forward(x)).flatten(1));
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const s = traceModule(this.avgpool, traceModule(this.features, input, count, 'features'), count, 'avgpool');
    return traceModule(this.classifier, [s.reduce((a, b) => a * b, 1)], count, 'classifier');
  }
}

export const vgg11 = (opts: VGGOptions = {}): VGG => new VGG('A', false, opts);
export const vgg11_bn = (opts: VGGOptions = {}): VGG => new VGG('A', true, opts);
export const vgg16 = (opts: VGGOptions = {}): VGG => new VGG('D', false, opts);
export const vgg16_bn = (opts: VGGOptions = {}): VGG => new VGG('D', true, opts);
