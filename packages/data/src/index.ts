/**
 * @tessera/data — ImageNet (ILSVRC-2012), Fashion-MNIST and synthetic datasets, the AlexNet paper's
 * preprocessing and augmentation, a shard cache, and a prefetching, deterministic, resumable loader that
 * produces NCHW float32 batches on any tessera backend.
 */
export type { Dataset, Image, ImageNote, Item, WorkerSpec } from './dataset.js';
export { datasetFromSpec, skip } from './dataset.js';
export { imagenetClasses, imagenetClass, imagenetClassByWnid, imagenetClassByIlsvrcId, type ImagenetClass } from './classes.js';
export {
  openImagenet,
  ImagenetDataset,
  IMAGE_EXTENSIONS,
  parseGroundTruth,
  parseKaggleSolution,
  parseSynsetMapping,
  type ImagenetOptions,
  type ImagenetLayout,
  type ImagenetScan,
} from './imagenet.js';
export { decodeImage, sniffImage, resizedSize, type DecodeOptions, type Decoded, type ResizeKernel, type Sniffed, type SniffedFormat } from './decode.js';
export { ArrayDataset, type ArrayDatasetOptions } from './array-dataset.js';
export {
  loadFashionMnist,
  fashionMnistDataset,
  fashionMnistAvailable,
  parseIdx,
  FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  type FashionMnist,
  type FashionMnistOptions,
  type FashionMnistSplit,
  type IdxArray,
} from './fashion-mnist.js';
export { resizeBilinear } from './resize.js';
export {
  TransformPlan,
  transformImage,
  cropImage,
  centerCropWindow,
  tenCropWindows,
  randomCropWindow,
  lightingOffset,
  roundHalfEven,
  IMAGENET_MEAN,
  IMAGENET_STD,
  IMAGENET_PCA,
  type TransformSpec,
  type CropSpec,
  type CropWindow,
  type LightingSpec,
  type NormalizeSpec,
} from './transforms.js';
export { paperTrainTransform, paperTestTransform, torchvisionTrainTransform, torchvisionTestTransform } from './presets.js';
export { augmentDraws, epochOrder, type AugmentDraws } from './random.js';
export {
  computeStats,
  saveStats,
  loadStats,
  symmetricEigen,
  lightingFromStats,
  meanImageNormalize,
  channelNormalize,
  type ImageStats,
  type StatsOptions,
} from './stats.js';
export { writeShards, openShards, ShardDataset, type WriteShardsOptions, type WriteShardsReport, type OpenShardsOptions, type ShardIndex } from './shards.js';
export { generateSyntheticImagenet, renderSyntheticImage, type SyntheticOptions, type SyntheticManifest, type SyntheticSplit } from './synthetic.js';
export {
  createLoader,
  Loader,
  defaultWorkers,
  type LoaderOptions,
  type LoaderState,
  type Batch,
  type HostBatch,
  type EpochReport,
  type SkipRecord,
  type NoteRecord,
} from './loader.js';
export { crc32 } from './crc32.js';
