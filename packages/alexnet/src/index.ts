export { AlexNet, alexnet, averageCropProbabilities, PAPER_LRN, type AlexNetOptions, type AlexNetVariant } from './model.js';
