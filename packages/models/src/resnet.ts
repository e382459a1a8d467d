/**
 * ResNet (He, Zhang, Ren & Sun 2015), torchvision's `ResNet`: BasicBlock for ResNet-18/34, Bottleneck (stride on
 * the 3×3 convolution, "ResNet v1.5") for ResNet-50, projection shortcuts (1×1 conv + BatchNorm) where the shape
 * changes, `zeroInitResidual` (the last BatchNorm of each residual branch starts at 0, Goyal et al. 2017), and
 * `groups` / `widthPerGroup` for Bottleneck (ResNeXt / wide ResNets). Initialisation as torchvision's: convolutions
 * kaiming normal (fan-out, ReLU), BatchNorm 1 / 0, the final linear layer PyTorch's default. Keys: conv1.weight,
 * bn1.*, layer{1..4}.{i}.{conv1,bn1,conv2,bn2[,conv3,bn3]}.*, layer{k}.0.downsample.{0,1}.*, fc.*.
 * Not included: `replace_stride_with_dilation` (dilated ResNets for segmentation) and custom norm layers.
 */
import { TesseraError, nn, type Tensor } from '@tessera/tensor';
import {
  COMMON_KEYS,
  LayerFactory,
  checkInput,
  checkKeys,
  positiveInt,
  traceModule,
  type MacCounter,
  type ModelOptions,
  type Shape,
  type Traceable,
  type ZooModel,
} from './common.js';

export interface ResNetOptions extends ModelOptions {
  /** Zero-initialise the last BatchNorm weight of every residual branch (default false). */
  zeroInitResidual?: boolean;
  /** Groups of the 3×3 convolutions in Bottleneck blocks (default 1; BasicBlock supports only 1). */
  groups?: number;
  /** Channels per group of the Bottleneck width (default 64; BasicBlock supports only 64). */
  widthPerGroup?: number;
}

function traceResidual(main: Shape, identity: Shape, where: string): Shape {
  if (main.join() !== identity.join())
    throw new TesseraError(where, `the residual branch gives [${main.join(', ')}] but the shortcut [${identity.join(', ')}]`);
  return main;
}

export class BasicBlock extends nn.Module implements Traceable {
  static readonly expansion = 1;
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly relu: nn.ReLU;
  readonly conv2: nn.Conv2d;
  readonly bn2: nn.BatchNorm2d;
  readonly downsample: nn.Sequential | null;

  constructor(f: LayerFactory, inplanes: number, planes: number, stride: number, downsample: nn.Sequential | null, groups: number, baseWidth: number) {
    super();
    if (groups !== 1 || baseWidth !== 64)
      throw new TesseraError(f.op, `BasicBlock only supports groups=1 and widthPerGroup=64, got ${groups} and ${baseWidth}`);
    this.conv1 = f.conv(inplanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = f.batchNorm(planes);
    this.relu = new nn.ReLU();
    this.conv2 = f.conv(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = f.batchNorm(planes);
    this.downsample = downsample;
  }

  override forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return out.add(identity).relu();
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const main = traceModule(this.conv2, traceModule(this.conv1, input, count, 'conv1'), count, 'conv2');
    return traceResidual(main, this.downsample ? traceModule(this.downsample, input, count, 'downsample') : input, 'BasicBlock');
  }
}

export class Bottleneck extends nn.Module implements Traceable {
  static readonly expansion = 4;
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly conv2: nn.Conv2d;
  readonly bn2: nn.BatchNorm2d;
  readonly conv3: nn.Conv2d;
  readonly bn3: nn.BatchNorm2d;
  readonly relu: nn.ReLU;
  readonly downsample: nn.Sequential | null;

  constructor(f: LayerFactory, inplanes: number, planes: number, stride: number, downsample: nn.Sequential | null, groups: number, baseWidth: number) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = f.conv(inplanes, width, 1, { bias: false });
    this.bn1 = f.batchNorm(width);
    this.conv2 = f.conv(width, width, 3, { stride, padding: 1, groups, bias: false });
    this.bn2 = f.batchNorm(width);
    this.conv3 = f.conv(width, planes * Bottleneck.expansion, 1, { bias: false });
    this.bn3 = f.batchNorm(planes * Bottleneck.expansion);
    this.relu = new nn.ReLU();
    this.downsample = downsample;
  }

  override forward(x: Tensor): Tensor {
    let out = this.bn1.forward(this.conv1.forward(x)).relu();
    out = this.bn2.forward(this.conv2.forward(out)).relu();
    out = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return out.add(identity).relu();
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    let s = traceModule(this.conv1, input, count, 'conv1');
    s = traceModule(this.conv3, traceModule(this.conv2, s, count, 'conv2'), count, 'conv3');
    return traceResidual(s, this.downsample ? traceModule(this.downsample, input, count, 'downsample') : input, 'Bottleneck');
  }
}

export type ResNetBlock = 'basic' | 'bottleneck';

export class ResNet extends nn.Module implements ZooModel {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly block: ResNetBlock;
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly relu: nn.ReLU;
  readonly maxpool: nn.MaxPool2d;
  readonly layer1: nn.Sequential;
  readonly layer2: nn.Sequential;
  readonly layer3: nn.Sequential;
  readonly layer4: nn.Sequential;
  readonly avgpool: nn.AdaptiveAvgPool2d;
  readonly fc: nn.Linear;

  constructor(block: ResNetBlock, layers: readonly [number, number, number, number], opts: ResNetOptions = {}, op = 'resnet') {
    super();
    checkKeys(op, opts, [...COMMON_KEYS, 'zeroInitResidual', 'groups', 'widthPerGroup']);
    this.numClasses = positiveInt(op, 'numClasses', opts.numClasses ?? 1000);
    this.inChannels = positiveInt(op, 'inChannels', opts.inChannels ?? 3);
    const groups = positiveInt(op, 'groups', opts.groups ?? 1);
    const baseWidth = positiveInt(op, 'widthPerGroup', opts.widthPerGroup ?? 64);
    this.block = block;
    const f = new LayerFactory(op, opts);
    const Block = block === 'basic' ? BasicBlock : Bottleneck;
    const expansion = Block.expansion;
    let inplanes = 64;
    const makeLayer = (planes: number, blocks: number, stride: number): nn.Sequential => {
      let downsample: nn.Sequential | null = null;
      if (stride !== 1 || inplanes !== planes * expansion) {
        downsample = new nn.Sequential(f.conv(inplanes, planes * expansion, 1, { stride, bias: false }), f.batchNorm(planes * expansion));
      }
      const seq = new nn.Sequential(new Block(f, inplanes, planes, stride, downsample, groups, baseWidth));
      inplanes = planes * expansion;
      for (let i = 1; i < blocks; i++) seq.append(new Block(f, inplanes, planes, 1, null, groups, baseWidth));
      return seq;
    };
    this.conv1 = f.conv(this.inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = f.batchNorm(64);
    this.relu = new nn.ReLU();
    this.maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = makeLayer(64, layers[0], 1);
    this.layer2 = makeLayer(128, layers[1], 2);
    this.layer3 = makeLayer(256, layers[2], 2);
    this.layer4 = makeLayer(512, layers[3], 2);
    this.avgpool = new nn.AdaptiveAvgPool2d(1);
    this.fc = f.linear(512 * expansion, this.numClasses);
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) f.kaimingNormalFanOut(m.weight);
      else if (m instanceof nn.BatchNorm2d) f.batchNormInit(m);
    }
    f.pytorchDefault(this.fc);
    if (opts.zeroInitResidual ?? false) {
      for (const m of this.modules()) {
        if (m instanceof Bottleneck) f.constant(m.bn3.weight, 0);
        else if (m instanceof BasicBlock) f.constant(m.bn2.weight, 0);
      }
    }
  }

  override forward(x: Tensor): Tensor {
    checkInput(this, x, 'ResNet');
    let y = this.maxpool.forward(this.bn1.forward(this.conv1.forward(x)).relu());
    y = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(y))));
    return this.fc.forward(this.avgpool.forward(y).flatten(1));
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    let s = traceModule(this.maxpool, traceModule(this.conv1, input, count, 'conv1'), count, 'maxpool');
    for (const [name, l] of [
      ['layer1', this.layer1],
      ['layer2', this.layer2],
      ['layer3', this.layer3],
      ['layer4', this.layer4],
    ] as const)
      s = traceModule(l, s, count, name);
    s = traceModule(this.avgpool, s, count, 'avgpool');
    return traceModule(this.fc, [s.reduce((a, b) => a * b, 1)], count, 'fc');
  }
}

export const resnet18 = (opts: ResNetOptions = {}): ResNet => new ResNet('basic', [2, 2, 2, 2], opts, 'resnet18');
export const resnet34 = (opts: ResNetOptions = {}): ResNet => new ResNet('basic', [3, 4, 6, 3], opts, 'resnet34');
export const resnet50 = (opts: ResNetOptions = {}): ResNet => new ResNet('bottleneck', [3, 4, 6, 3], opts, 'resnet50');
