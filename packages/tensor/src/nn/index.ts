/** `nn`: modules, layers and initialisers, named like torch.nn. */
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { parameter, buffer, isParameter, isBuffer, type ParameterOptions, type LayerOptions } from './parameter.js';
export { Sequential } from './sequential.js';
export { Linear, type LinearOptions } from './linear.js';
export { Conv2d, type Conv2dLayerOptions } from './conv.js';
export { ReLU, Tanh, Sigmoid, Hardtanh, ReLU6 } from './activation.js';
export { Identity, ModuleList, ModuleDict } from './container.js';
export { LocalResponseNorm, BatchNorm, BatchNorm1d, BatchNorm2d, type LocalResponseNormOptions, type BatchNormLayerOptions } from './normalization.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type Pool2dLayerOptions, type AvgPool2dLayerOptions } from './pooling.js';
export { Dropout } from './dropout.js';
export { Flatten } from './flatten.js';
export * as init from './init.js';
