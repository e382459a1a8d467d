/** `F`: the functional API, named like torch.nn.functional. */
export { conv2d, linear, type Conv2dOptions } from './ops/conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, type Pool2dOptions, type AvgPool2dOptions } from './ops/pool.js';
export { localResponseNorm, type LrnOptions } from './ops/lrn.js';
export { batchNorm, type BatchNormOptions } from './ops/norm.js';
export { softmax, logSoftmax, crossEntropy, type CrossEntropyOptions } from './ops/softmax.js';
export { dropout, topk, oneHot, type DropoutOptions, type TopkOptions } from './ops/misc.js';
export { cat, pad } from './ops/shape.js';
import { hardtanh as hardtanhOp } from './ops/elementwise.js';
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

/**
 * min(max(x, minVal), maxVal). The gradient passes only where minVal < x < maxVal (PyTorch's rule; `x.clamp`
 * passes it at the bounds too, as torch.clamp does).
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  return hardtanhOp(x, minVal, maxVal);
}

/** min(max(x, 0), 6): hardtanh(x, 0, 6), with its gradient (none at exactly 0 or 6, as in PyTorch). */
export function relu6(x: Tensor): Tensor {
  return hardtanhOp(x, 0, 6, 'relu6');
}
