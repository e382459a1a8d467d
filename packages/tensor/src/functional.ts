/** `F`: the functional API, named like torch.nn.functional. */
export { conv2d, linear, type Conv2dOptions } from './ops/conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type Pool2dOptions, type AvgPool2dOptions } from './ops/pool.js';
export { localResponseNorm, type LrnOptions } from './ops/lrn.js';
export { softmax, logSoftmax, crossEntropy, type CrossEntropyOptions } from './ops/softmax.js';
export { dropout, topk, oneHot, type DropoutOptions, type TopkOptions } from './ops/misc.js';
export { cat, pad } from './ops/shape.js';
import type { Tensor } from './tensor.js';

export function relu(x: Tensor): Tensor {
  return x.relu();
}

export function tanh(x: Tensor): Tensor {
  return x.tanh();
}

export function sigmoid(x: Tensor): Tensor {
  return x.sigmoid();
}
