/**
 * MobileNetV2 (Sandler et al. 2018), torchvision's `MobileNetV2`: a 3×3/2 stem (32 channels), inverted residual
 * blocks (1×1 expansion → 3×3 depthwise → 1×1 linear projection, each with BatchNorm, ReLU6 after the first two,
 * a residual connection when stride 1 and the widths agree), a 1×1 conv to 1280 channels, global average pooling
 * and dropout 0.2 + linear. `widthMult` scales every width, rounded to a multiple of `roundNearest` (torchvision's
 * `_make_divisible`). Initialisation as torchvision's: convolutions kaiming normal (fan-out), zero biases;
 * BatchNorm 1 / 0; the linear layer N(0, 0.01), zero bias. Keys: features.0.{0,1}.* (conv, BN), features.{1..17}
 * .conv.{…}.*, features.18.{0,1}.*, classifier.1.*.
 */
import { F, TesseraError, nn, type Tensor } from '@tessera/tensor';
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

/** [t (expansion), c (channels), n (repeats), s (first stride)] rows, as torchvision's `inverted_residual_setting`. */
export type InvertedResidualSetting = readonly (readonly [number, number, number, number])[];

export const MOBILENET_V2_SETTING: InvertedResidualSetting = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export interface MobileNetV2Options extends ModelOptions {
  /** Width multiplier (default 1). */
  widthMult?: number;
  /** Round every width to a multiple of this (default 8; 1 turns rounding off). */
  roundNearest?: number;
  /** Dropout before the classifier (default 0.2). */
  dropout?: number;
  /** The block table (default MOBILENET_V2_SETTING). */
  invertedResidualSetting?: InvertedResidualSetting;
}

/** torchvision's `_make_divisible`: the nearest multiple of `divisor`, at least `divisor`, never 10 % below `v`. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor;
  let n = Math.max(min, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** torchvision's `Conv2dNormActivation` with BatchNorm and ReLU6: Sequential(conv, bn, relu6), keys 0.* and 1.*. */
function convBnRelu6(f: LayerFactory, inC: number, outC: number, kernel: number, stride = 1, groups = 1): nn.Sequential {
  return new nn.Sequential(f.conv(inC, outC, kernel, { stride, padding: (kernel - 1) >> 1, groups, bias: false }), f.batchNorm(outC), new nn.ReLU6());
}

export class InvertedResidual extends nn.Module implements Traceable {
  readonly stride: number;
  readonly useResConnect: boolean;
  readonly conv: nn.Sequential;

  constructor(f: LayerFactory, inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new TesseraError(f.op, `stride should be 1 or 2, got ${stride}`);
    this.stride = stride;
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    this.conv = new nn.Sequential();
    if (expandRatio !== 1) this.conv.append(convBnRelu6(f, inp, hidden, 1));
    this.conv.append(convBnRelu6(f, hidden, hidden, 3, stride, hidden));
    this.conv.append(f.conv(hidden, oup, 1, { bias: false }));
    this.conv.append(f.batchNorm(oup));
  }

  override forward(x: Tensor): Tensor {
    return this.useResConnect ? x.add(this.conv.forward(x)) : this.conv.forward(x);
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    return traceModule(this.conv, input, count, 'conv');
  }
}

export class MobileNetV2 extends nn.Module implements ZooModel {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly lastChannel: number;
  readonly features: nn.Sequential;
  readonly classifier: nn.Sequential;

  constructor(opts: MobileNetV2Options = {}) {
    super();
    const op = 'mobilenet_v2';
    checkKeys(op, opts, [...COMMON_KEYS, 'widthMult', 'roundNearest', 'dropout', 'invertedResidualSetting']);
    this.numClasses = positiveInt(op, 'numClasses', opts.numClasses ?? 1000);
    this.inChannels = positiveInt(op, 'inChannels', opts.inChannels ?? 3);
    const widthMult = opts.widthMult ?? 1;
    if (typeof widthMult !== 'number' || !(widthMult > 0) || !Number.isFinite(widthMult))
      throw new TesseraError(op, `widthMult must be a positive number, got ${String(widthMult)}`);
    const roundNearest = positiveInt(op, 'roundNearest', opts.roundNearest ?? 8);
    const p = probability(op, 'dropout', opts.dropout ?? 0.2);
    const setting = opts.invertedResidualSetting ?? MOBILENET_V2_SETTING;
    if (
      !Array.isArray(setting) ||
      setting.length === 0 ||
      setting.some((r) => !Array.isArray(r) || r.length !== 4 || r.some((v) => !Number.isInteger(v) || v < 1))
    ) {
      throw new TesseraError(op, 'invertedResidualSetting must be a non-empty list of [t, c, n, s] rows of positive integers');
    }
    const f = new LayerFactory(op, opts);
    let inputChannel = makeDivisible(32 * widthMult, roundNearest);
    this.lastChannel = makeDivisible(1280 * Math.max(1, widthMult), roundNearest);
    this.features = new nn.Sequential(convBnRelu6(f, this.inChannels, inputChannel, 3, 2));
    for (const [t, c, n, s] of setting) {
      const out = makeDivisible(c * widthMult, roundNearest);
      for (let i = 0; i < n; i++) {
        this.features.append(new InvertedResidual(f, inputChannel, out, i === 0 ? s : 1, t));
        inputChannel = out;
      }
    }
    this.features.append(convBnRelu6(f, inputChannel, this.lastChannel, 1));
    this.classifier = new nn.Sequential(new nn.Dropout(p), f.linear(this.lastChannel, this.numClasses));
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
    checkInput(this, x, 'MobileNetV2');
    const y = this.features.forward(x);
    return this.classifier.forward(F.adaptiveAvgPool2d(y, 1).flatten(1));
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const s = traceModule(this.features, input, count, 'features');
    return traceModule(this.classifier, [s[0]!], count, 'classifier');
  }
}

export function mobilenet_v2(opts: MobileNetV2Options = {}): MobileNetV2 {
  return new MobileNetV2(opts);
}
