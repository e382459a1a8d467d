/**
 * LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition",
 * Section II.B) as a small CPU model. Layers keep the paper's names: C1 (6@5×5) → S2 (2×2 subsampling) → C3
 * (16@5×5) → S4 → C5 (120@5×5, a convolution that sees all of S4's 5×5 maps, as in the paper) → F6 (84) → output.
 *
 * Choices, stated: the paper's input is 32×32 (MNIST's 28×28 digits centred in a 32×32 field); `inputSize: 28`
 * pads C1 by 2 instead, which gives the same 28×28 C1 maps and the same state dict. C3 connects every S2 map
 * (the paper's Table I connects subsets, "to break symmetry"); S2/S4 are plain 2×2 average pools (the paper's
 * trainable coefficient and bias are dropped); activations are tanh (the paper's 1.7159·tanh(2a/3) up to scale)
 * or ReLU; the output layer is linear + softmax cross-entropy (the paper's Euclidean RBF units are not used).
 * Weights use PyTorch's default layer initialisation (U(±1/√fanIn)-scaled kaiming uniform), as torchvision's
 * own small models do. State keys: c1.weight, c1.bias, c3.*, c5.*, f6.*, output.*.
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
  type ZooModel,
} from './common.js';

export interface LeNet5Options extends ModelOptions {
  /** 32 (the paper's, default) or 28 (Fashion-MNIST / MNIST as stored: C1 pads by 2). */
  inputSize?: 28 | 32;
  /** 'tanh' (default, the paper's squashing function) or 'relu'. */
  activation?: 'tanh' | 'relu';
  /** 'avg' (default, the paper's subsampling) or 'max'. */
  pooling?: 'avg' | 'max';
}

export class LeNet5 extends nn.Module implements ZooModel {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly inputSize: 28 | 32;
  readonly activation: 'tanh' | 'relu';
  readonly c1: nn.Conv2d;
  readonly s2: nn.Module;
  readonly c3: nn.Conv2d;
  readonly s4: nn.Module;
  readonly c5: nn.Conv2d;
  readonly f6: nn.Linear;
  readonly output: nn.Linear;

  constructor(opts: LeNet5Options = {}) {
    super();
    const op = 'lenet5';
    checkKeys(op, opts, [...COMMON_KEYS, 'inputSize', 'activation', 'pooling']);
    this.numClasses = positiveInt(op, 'numClasses', opts.numClasses ?? 10);
    this.inChannels = positiveInt(op, 'inChannels', opts.inChannels ?? 1);
    const inputSize = opts.inputSize ?? 32;
    if (inputSize !== 28 && inputSize !== 32) throw new TesseraError(op, `inputSize must be 28 or 32, got ${String(inputSize)}`);
    this.inputSize = inputSize;
    const activation = opts.activation ?? 'tanh';
    if (activation !== 'tanh' && activation !== 'relu') throw new TesseraError(op, `activation must be 'tanh' or 'relu', got ${JSON.stringify(activation)}`);
    this.activation = activation;
    const pooling = opts.pooling ?? 'avg';
    if (pooling !== 'avg' && pooling !== 'max') throw new TesseraError(op, `pooling must be 'avg' or 'max', got ${JSON.stringify(pooling)}`);
    const f = new LayerFactory(op, opts);
    const pool = () => (pooling === 'avg' ? new nn.AvgPool2d(2, { stride: 2 }) : new nn.MaxPool2d(2, { stride: 2 }));
    this.c1 = f.conv(this.inChannels, 6, 5, { padding: (32 - inputSize) / 2 });
    this.s2 = pool();
    this.c3 = f.conv(6, 16, 5);
    this.s4 = pool();
    this.c5 = f.conv(16, 120, 5);
    this.f6 = f.linear(120, 84);
    this.output = f.linear(84, this.numClasses);
    for (const l of [this.c1, this.c3, this.c5, this.f6, this.output]) f.pytorchDefault(l);
  }

  #act(x: Tensor): Tensor {
    return this.activation === 'tanh' ? x.tanh() : x.relu();
  }

  override forward(x: Tensor): Tensor {
    checkInput(this, x, 'LeNet5');
    let y = this.s2.forward(this.#act(this.c1.forward(x)));
    y = this.s4.forward(this.#act(this.c3.forward(y)));
    y = this.#act(this.c5.forward(y)).flatten(1);
    return this.output.forward(this.#act(this.f6.forward(y)));
  }

  traceShape(input: Shape, count: MacCounter): Shape {
    const [, h, w] = input;
    if (h !== this.inputSize || w !== this.inputSize) {
      throw new TesseraError('LeNet5', `expects ${this.inputSize}×${this.inputSize} images (inputSize), got ${String(h)}×${String(w)}`);
    }
    let s = input;
    for (const [name, m] of [
      ['c1', this.c1],
      ['s2', this.s2],
      ['c3', this.c3],
      ['s4', this.s4],
      ['c5', this.c5],
    ] as const)
      s = traceModule(m, s, count, name);
    s = [s.reduce((a, b) => a * b, 1)];
    s = traceModule(this.f6, s, count, 'f6');
    return traceModule(this.output, s, count, 'output');
  }
}

export function lenet5(opts: LeNet5Options = {}): LeNet5 {
  return new LeNet5(opts);
}
