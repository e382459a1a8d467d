/**
 * GoogLeNet (Inception v1; Szegedy et al. 2014), torchvision's `GoogLeNet`: BasicConv2d (conv without bias →
 * BatchNorm with eps 0.001 → ReLU, torchvision's batch-normalised variant of the paper's network), nine Inception
 * modules (torchvision keeps the 3×3 kernel in the "5×5" branch, vision issue #906), ceil-mode max pools, and two
 * auxiliary classifiers after inception4a and inception4d, used only in training mode. Initialisation as
 * torchvision's: every conv and linear weight from N(0, 0.01) truncated to [−2, 2] (at 200 σ the truncation never
 * binds, so plain N(0, 0.01) draws the same distribution), linear biases PyTorch's default, BatchNorm 1 / 0.
 *
 * `forward` returns the main logits in every mode (a Module returns one tensor); `forwardWithAux` returns the
 * auxiliary logits too, and `trainingLoss` (index.ts) weights them by 0.3 as the paper does.
 * Keys: conv1.{conv,bn}.*, inception3a.branch1.{conv,bn}.*, inception3a.branch2.{0,1}.…, branch4.1.…, aux1.conv.…,
 * aux1.fc1.*, aux1.fc2.*, fc.*.
 */
import { F, TesseraError, cat, nn, type Tensor } from '@tessera/tensor';
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

export interface GoogLeNetOptions extends ModelOptions {
  /** Build the two auxiliary classifiers (default true, as torchvision's builder without weights). */
  auxLogits?: boolean;
  /** Map ImageNet-normalised input to the (x − 0.5)/0.5 scaling of the ported weights (default false). */
  transformInput?: boolean;
  /** Dropout before the main classifier (default 0.2). */
  dropout?: number;
  /** Dropout in the auxiliary classifiers (default 0.7). */
  dropoutAux?: number;
}

export class BasicConv2d extends nn.Module implements Traceable {
  readonly conv: nn.Conv2d;
  readonly bn: nn.BatchNorm2d;

  constructor(f: LayerFactory, inC: number, outC: number, kernel: number, opts: { stride?: number; padding?: number } = {}) {
    super();
    this.conv = f.conv(inC, outC, kernel, { ...opts, bias: false });
    this.bn = f.batchNorm(outC, { eps: 0.001 });
  }

  override forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    return traceModule(this.conv, input, count, 'conv');
  }
}

export class Inception extends nn.Module implements Traceable {
  readonly branch1: BasicConv2d;
  readonly branch2: nn.Sequential;
  readonly branch3: nn.Sequential;
  readonly branch4: nn.Sequential;

  constructor(f: LayerFactory, inC: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = new BasicConv2d(f, inC, ch1x1, 1);
    this.branch2 = new nn.Sequential(new BasicConv2d(f, inC, ch3x3red, 1), new BasicConv2d(f, ch3x3red, ch3x3, 3, { padding: 1 }));
    this.branch3 = new nn.Sequential(new BasicConv2d(f, inC, ch5x5red, 1), new BasicConv2d(f, ch5x5red, ch5x5, 3, { padding: 1 }));
    this.branch4 = new nn.Sequential(new nn.MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(f, inC, poolProj, 1));
  }

  override forward(x: Tensor): Tensor {
    return cat([this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)], 1);
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const outs = [this.branch1, this.branch2, this.branch3, this.branch4].map((b, i) => traceModule(b, input, count, `branch${i + 1}`));
    const [, h, w] = outs[0]!;
    if (outs.some((o) => o[1] !== h || o[2] !== w))
      throw new TesseraError('Inception', `branches disagree on the map size: ${outs.map((o) => `[${o.join(', ')}]`).join(', ')}`);
    return [outs.reduce((a, o) => a + o[0]!, 0), h!, w!];
  }
}

export class InceptionAux extends nn.Module implements Traceable {
  readonly conv: BasicConv2d;
  readonly fc1: nn.Linear;
  readonly fc2: nn.Linear;
  readonly dropout: nn.Dropout;

  constructor(f: LayerFactory, inC: number, numClasses: number, dropout: number) {
    super();
    this.conv = new BasicConv2d(f, inC, 128, 1);
    this.fc1 = f.linear(2048, 1024);
    this.fc2 = f.linear(1024, numClasses);
    this.dropout = new nn.Dropout(dropout);
  }

  override forward(x: Tensor): Tensor {
    const y = this.conv.forward(F.adaptiveAvgPool2d(x, 4)).flatten(1);
    return this.fc2.forward(this.dropout.forward(this.fc1.forward(y).relu()));
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const s = traceModule(this.conv, [input[0]!, 4, 4], count, 'conv');
    return traceModule(this.fc2, traceModule(this.fc1, [s.reduce((a, b) => a * b, 1)], count, 'fc1'), count, 'fc2');
  }
}

export interface GoogLeNetOutputs {
  logits: Tensor;
  /** The auxiliary classifiers' logits (after inception4a and inception4d); null in eval mode or without auxLogits. */
  aux1: Tensor | null;
  aux2: Tensor | null;
}

export class GoogLeNet extends nn.Module implements ZooModel {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly auxLogits: boolean;
  readonly transformInput: boolean;
  readonly conv1: BasicConv2d;
  readonly maxpool1: nn.MaxPool2d;
  readonly conv2: BasicConv2d;
  readonly conv3: BasicConv2d;
  readonly maxpool2: nn.MaxPool2d;
  readonly inception3a: Inception;
  readonly inception3b: Inception;
  readonly maxpool3: nn.MaxPool2d;
  readonly inception4a: Inception;
  readonly inception4b: Inception;
  readonly inception4c: Inception;
  readonly inception4d: Inception;
  readonly inception4e: Inception;
  readonly maxpool4: nn.MaxPool2d;
  readonly inception5a: Inception;
  readonly inception5b: Inception;
  readonly aux1: InceptionAux | null;
  readonly aux2: InceptionAux | null;
  readonly avgpool: nn.AdaptiveAvgPool2d;
  readonly dropout: nn.Dropout;
  readonly fc: nn.Linear;

  constructor(opts: GoogLeNetOptions = {}) {
    super();
    const op = 'googlenet';
    checkKeys(op, opts, [...COMMON_KEYS, 'auxLogits', 'transformInput', 'dropout', 'dropoutAux']);
    this.numClasses = positiveInt(op, 'numClasses', opts.numClasses ?? 1000);
    this.inChannels = positiveInt(op, 'inChannels', opts.inChannels ?? 3);
    this.auxLogits = opts.auxLogits ?? true;
    this.transformInput = opts.transformInput ?? false;
    if (this.transformInput && this.inChannels !== 3) throw new TesseraError(op, `transformInput maps 3 RGB channels; inChannels is ${this.inChannels}`);
    const p = probability(op, 'dropout', opts.dropout ?? 0.2);
    const pAux = probability(op, 'dropoutAux', opts.dropoutAux ?? 0.7);
    const f = new LayerFactory(op, opts);
    const pool = (k: number) => new nn.MaxPool2d(k, { stride: 2, ceilMode: true });
    this.conv1 = new BasicConv2d(f, this.inChannels, 64, 7, { stride: 2, padding: 3 });
    this.maxpool1 = pool(3);
    this.conv2 = new BasicConv2d(f, 64, 64, 1);
    this.conv3 = new BasicConv2d(f, 64, 192, 3, { padding: 1 });
    this.maxpool2 = pool(3);
    this.inception3a = new Inception(f, 192, 64, 96, 128, 16, 32, 32);
    this.inception3b = new Inception(f, 256, 128, 128, 192, 32, 96, 64);
    this.maxpool3 = pool(3);
    this.inception4a = new Inception(f, 480, 192, 96, 208, 16, 48, 64);
    this.inception4b = new Inception(f, 512, 160, 112, 224, 24, 64, 64);
    this.inception4c = new Inception(f, 512, 128, 128, 256, 24, 64, 64);
    this.inception4d = new Inception(f, 512, 112, 144, 288, 32, 64, 64);
    this.inception4e = new Inception(f, 528, 256, 160, 320, 32, 128, 128);
    this.maxpool4 = pool(2);
    this.inception5a = new Inception(f, 832, 256, 160, 320, 32, 128, 128);
    this.inception5b = new Inception(f, 832, 384, 192, 384, 48, 128, 128);
    this.aux1 = this.auxLogits ? new InceptionAux(f, 512, this.numClasses, pAux) : null;
    this.aux2 = this.auxLogits ? new InceptionAux(f, 528, this.numClasses, pAux) : null;
    this.avgpool = new nn.AdaptiveAvgPool2d(1);
    this.dropout = new nn.Dropout(p);
    this.fc = f.linear(1024, this.numClasses);
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) f.normal(m.weight, 0.01);
      else if (m instanceof nn.Linear) {
        // torchvision re-draws only the weight; the bias keeps nn.Linear's default U(±1/√fanIn).
        f.pytorchDefault(m);
        f.normal(m.weight, 0.01);
      } else if (m instanceof nn.BatchNorm2d) f.batchNormInit(m);
    }
  }

  #transform(x: Tensor): Tensor {
    if (!this.transformInput) return x;
    const ch = (i: number, std: number, mean: number) =>
      x
        .slice(1, i, i + 1)
        .mul(std / 0.5)
        .add((mean - 0.5) / 0.5);
    return cat([ch(0, 0.229, 0.485), ch(1, 0.224, 0.456), ch(2, 0.225, 0.406)], 1);
  }

  /** The main logits, and in training mode with auxLogits the two auxiliary classifiers' logits. */
  forwardWithAux(x: Tensor): GoogLeNetOutputs {
    checkInput(this, x, 'GoogLeNet');
    return this.#run(x, this.training && this.auxLogits);
  }

  /** The main logits in every mode (in training mode the auxiliary heads are left out: only the loss needs them). */
  override forward(x: Tensor): Tensor {
    checkInput(this, x, 'GoogLeNet');
    return this.#run(x, false).logits;
  }

  #run(x: Tensor, withAux: boolean): GoogLeNetOutputs {
    let y = this.#transform(x);
    y = this.maxpool1.forward(this.conv1.forward(y));
    y = this.maxpool2.forward(this.conv3.forward(this.conv2.forward(y)));
    y = this.maxpool3.forward(this.inception3b.forward(this.inception3a.forward(y)));
    y = this.inception4a.forward(y);
    const aux1 = withAux && this.aux1 ? this.aux1.forward(y) : null;
    y = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(y)));
    const aux2 = withAux && this.aux2 ? this.aux2.forward(y) : null;
    y = this.maxpool4.forward(this.inception4e.forward(y));
    y = this.inception5b.forward(this.inception5a.forward(y));
    const logits = this.fc.forward(this.dropout.forward(this.avgpool.forward(y).flatten(1)));
    return { logits, aux1, aux2 };
  }

  /** The inference path (the auxiliary heads, training-only, are not counted; they take any map size). */
  traceShape(input: Shape, count: MacCounter): Shape {
    let s = input;
    const main: [string, nn.Module][] = [
      ['conv1', this.conv1],
      ['maxpool1', this.maxpool1],
      ['conv2', this.conv2],
      ['conv3', this.conv3],
      ['maxpool2', this.maxpool2],
      ['inception3a', this.inception3a],
      ['inception3b', this.inception3b],
      ['maxpool3', this.maxpool3],
      ['inception4a', this.inception4a],
    ];
    for (const [name, m] of main) s = traceModule(m, s, count, name);
    for (const [name, m] of [
      ['inception4b', this.inception4b],
      ['inception4c', this.inception4c],
      ['inception4d', this.inception4d],
    ] as const)
      s = traceModule(m, s, count, name);
    for (const [name, m] of [
      ['inception4e', this.inception4e],
      ['maxpool4', this.maxpool4],
      ['inception5a', this.inception5a],
      ['inception5b', this.inception5b],
      ['avgpool', this.avgpool],
    ] as const)
      s = traceModule(m, s, count, name);
    return traceModule(this.fc, [s.reduce((a, b) => a * b, 1)], count, 'fc');
  }
}

export function googlenet(opts: GoogLeNetOptions = {}): GoogLeNet {
  return new GoogLeNet(opts);
}
