/**
 * @tessera/models — the CNNs that followed AlexNet, built only from @tessera/tensor's public API, with
 * torchvision's constructor options, state-dict keys and initialisation: LeNet-5, ZFNet, AlexNet (re-exported
 * from @tessera/alexnet), VGG-11/16 (± batch norm), ResNet-18/34/50, SqueezeNet 1.1, MobileNetV2 and GoogLeNet.
 */
export { AlexNet } from '@tessera/alexnet';
export { LayerFactory, checkInput, traceModule, type ModelOptions, type Shape, type Traceable, type MacCounter, type ZooModel } from './common.js';
export { LeNet5, lenet5, type LeNet5Options } from './lenet.js';
export { ZFNet, zfnet, type ZFNetOptions } from './zfnet.js';
export { VGG, VGG_CONFIGS, vgg11, vgg11_bn, vgg16, vgg16_bn, type VGGConfig, type VGGOptions } from './vgg.js';
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, type ResNetBlock, type ResNetOptions } from './resnet.js';
export { SqueezeNet, Fire, squeezenet1_1, type SqueezeNetOptions } from './squeezenet.js';
export {
  MobileNetV2,
  InvertedResidual,
  MOBILENET_V2_SETTING,
  makeDivisible,
  mobilenet_v2,
  type InvertedResidualSetting,
  type MobileNetV2Options,
} from './mobilenet.js';
export { GoogLeNet, Inception, InceptionAux, BasicConv2d, googlenet, type GoogLeNetOptions, type GoogLeNetOutputs } from './googlenet.js';
export {
  createModel,
  listModels,
  modelInfo,
  trainingLoss,
  traceModel,
  zooAlexnet as alexnet,
  GOOGLENET_AUX_WEIGHT,
  MODEL_NAMES,
  type AnyModelOptions,
  type LrSchedule,
  type ModelInfo,
  type ModelName,
  type ModelOptionsMap,
  type ModelSummary,
  type TrainingRecipe,
  type ZooAlexNetOptions,
} from './registry.js';
