/**
 * @tessera/data/browser — the parts of @tessera/data that run without Node: Fashion-MNIST's constants and IDX
 * parser (inflate gzipped files first, e.g. with DecompressionStream), the synthetic classes' renderer, image
 * resizing and the in-memory transforms. Nothing here imports a Node module.
 */
export { FASHION_MNIST_CLASSES, FASHION_MNIST_MEAN, FASHION_MNIST_STD, parseIdxWith, type IdxArray } from './idx.js';
export { SyntheticStream, renderSyntheticImage, type Drawn } from './synthetic-render.js';
export { resizeBilinear } from './resize.js';
export { transformImage, IMAGENET_MEAN, IMAGENET_STD, type TransformSpec, type NormalizeSpec } from './transforms.js';
export { torchvisionTestTransform } from './presets.js';
