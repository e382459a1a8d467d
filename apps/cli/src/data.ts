/**
 * `--data imagenet:DIR | fashion-mnist[:DIR] | synthetic[:DIR]`: the datasets, transforms and model geometry
 * each source implies.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  FASHION_MNIST_DIR,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  IMAGENET_MEAN,
  IMAGENET_STD,
  createLoader,
  fashionMnistAvailable,
  fashionMnistDataset,
  generateSyntheticImagenet,
  loadStats,
  openImagenet,
  paperTestTransform,
  paperTrainTransform,
  torchvisionTestTransform,
  torchvisionTrainTransform,
  type Dataset,
  type Loader,
  type LoaderState,
  type TransformSpec,
} from '@tessera/data';
import { TesseraError } from '@tessera/tensor';
import type { AlexNetVariant } from '@tessera/alexnet';
import { firstImages } from './subset.js';

export type DataKind = 'imagenet' | 'fashion-mnist' | 'synthetic';

export interface DataSpec {
  kind: DataKind;
  dir?: string;
}

export function parseDataSpec(text: string): DataSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const dir = colon < 0 ? undefined : text.slice(colon + 1);
  if (kind !== 'imagenet' && kind !== 'fashion-mnist' && kind !== 'synthetic') {
    throw new TesseraError('--data', `unknown data source "${kind}"; expected imagenet:DIR, fashion-mnist[:DIR] or synthetic[:DIR]`);
  }
  if (kind === 'imagenet' && !dir) throw new TesseraError('--data', 'imagenet needs a directory: --data imagenet:/path/to/ILSVRC2012');
  if (dir !== undefined && dir.length === 0) throw new TesseraError('--data', `empty directory in "${text}"`);
  return dir === undefined ? { kind } : { kind, dir };
}

export interface PreparedData {
  description: string;
  train: Dataset;
  test: Dataset;
  numClasses: number;
  classNames: readonly string[] | undefined;
  variant: AlexNetVariant;
  /** Model input: channels and side. */
  channels: number;
  side: number;
  trainTransform: TransformSpec;
  testTransform: TransformSpec;
  /** The paper's ten crops, where the images are larger than the crop. */
  tenCropTransform: TransformSpec | null;
}

/** Generates (once) a small synthetic ImageNet-layout set under `dir`. */
export async function ensureSynthetic(dir: string, log: (line: string) => void): Promise<void> {
  if (existsSync(join(dir, 'train')) && existsSync(join(dir, 'val'))) return;
  mkdirSync(dir, { recursive: true });
  log(`generating a synthetic 10-class image set in ${dir} …`);
  await generateSyntheticImagenet({
    root: dir,
    classes: 10,
    trainPerClass: 300,
    valPerClass: 50,
    longSide: [40, 72],
    aspect: [1, 1.5],
    grayscale: 4,
    cmyk: 4,
    seed: 7,
  });
}

export interface PrepareOptions {
  /** AlexNet's variant (the default follows from the data). */
  variant?: AlexNetVariant;
  /**
   * A zoo model's input side: Fashion-MNIST is resized to it (bilinear, when not 28); folder images are resized to
   * side × 8/7 and cropped to it (the 256 → 224 of ImageNet, the 32 → 28 of the small sets).
   */
  side?: number;
  /** Only the first this many training / test images. */
  trainImages?: number;
  testImages?: number;
  log: (line: string) => void;
  stats?: string;
}

export async function prepareData(spec: DataSpec, opts: PrepareOptions): Promise<PreparedData> {
  const data = await prepareFull(spec, opts);
  if (opts.trainImages === undefined && opts.testImages === undefined) return data;
  const train = opts.trainImages !== undefined ? firstImages(data.train, opts.trainImages) : data.train;
  const test = opts.testImages !== undefined ? firstImages(data.test, opts.testImages) : data.test;
  return { ...data, train, test, description: `${data.description}; the first ${train.length} training and ${test.length} test images` };
}

async function prepareFull(spec: DataSpec, opts: PrepareOptions): Promise<PreparedData> {
  if (spec.kind === 'fashion-mnist') {
    const dir = spec.dir ?? FASHION_MNIST_DIR;
    if (!fashionMnistAvailable(dir)) {
      throw new TesseraError(
        '--data',
        `Fashion-MNIST is not at ${dir} (expected train-images-idx3-ubyte.gz and friends); install Debian's dataset-fashion-mnist or pass fashion-mnist:DIR`,
      );
    }
    const variant = opts.variant ?? 'reduced';
    if (variant !== 'reduced') throw new TesseraError('--variant', `Fashion-MNIST (1×28×28) trains the reduced variant, not ${variant}`);
    const normalize = { kind: 'channel', mean: [FASHION_MNIST_MEAN], std: [FASHION_MNIST_STD] } as const;
    const side = opts.side ?? 28;
    const resize = side !== 28 ? { resize: side } : {};
    const test = fashionMnistDataset({ dir, split: 'test', ...resize });
    return {
      description: `Fashion-MNIST from ${dir}${side !== 28 ? `, resized to ${side}×${side}` : ''}`,
      train: fashionMnistDataset({ dir, split: 'train', ...resize }),
      test,
      numClasses: 10,
      classNames: test.classNames,
      variant,
      channels: 1,
      side,
      trainTransform: { normalize },
      testTransform: { normalize },
      tenCropTransform: null,
    };
  }
  let root: string;
  let small: boolean;
  if (spec.kind === 'synthetic') {
    root = spec.dir ?? join(process.cwd(), 'out', 'synthetic');
    await ensureSynthetic(root, opts.log);
    small = true;
  } else {
    root = spec.dir!;
    if (!existsSync(root)) throw new TesseraError('--data', `ImageNet directory ${root} does not exist`);
    small = false;
  }
  const variant = opts.variant ?? (small ? 'reduced' : 'paper');
  // Reduced models read 28×28 crops of 32×32 images; full ones 224×224 of 256×256 (227 for Caffe geometry is set by
  // the model); a zoo model its own side, cropped from side × 8/7.
  const side = opts.side ?? (variant === 'reduced' ? 28 : 224);
  const size = opts.side !== undefined ? Math.round((opts.side * 8) / 7) : variant === 'reduced' ? 32 : 256;
  const classes = spec.kind === 'synthetic' ? 'folder' : 'imagenet';
  const train = await openImagenet({ root, split: 'train', size, classes });
  const test = await openImagenet({ root, split: 'val', size, classes });
  let trainTransform: TransformSpec;
  let testTransform: TransformSpec;
  let tenCropTransform: TransformSpec;
  if (opts.stats) {
    const stats = await loadStats(opts.stats);
    trainTransform = paperTrainTransform(stats, { size: side });
    testTransform = paperTestTransform(stats, { size: side });
    tenCropTransform = paperTestTransform(stats, { size: side, tenCrop: true });
  } else {
    trainTransform = torchvisionTrainTransform({ size: side, mean: IMAGENET_MEAN, std: IMAGENET_STD });
    testTransform = torchvisionTestTransform({ size: side });
    tenCropTransform = torchvisionTestTransform({ size: side, tenCrop: true });
  }
  return {
    description: `${spec.kind === 'synthetic' ? 'synthetic' : 'ImageNet'} images from ${root} (${train.length} train, ${test.length} val)`,
    train,
    test,
    numClasses: train.numClasses,
    classNames: train.classNames,
    variant,
    channels: 3,
    side,
    trainTransform: { ...trainTransform, channels: 3 },
    testTransform: { ...testTransform, channels: 3 },
    tenCropTransform: { ...tenCropTransform, channels: 3 },
  };
}

export interface LoaderConfig {
  batchSize: number;
  seed: number;
  workers?: number;
  backend?: string;
  state?: LoaderState;
}

export function trainLoader(d: PreparedData, c: LoaderConfig): Loader {
  return createLoader(d.train, {
    batchSize: c.batchSize,
    shuffle: true,
    seed: c.seed,
    transform: d.trainTransform,
    ...(c.workers !== undefined ? { workers: c.workers } : {}),
    ...(c.backend ? { backend: c.backend } : {}),
    ...(c.state ? { state: c.state } : {}),
  });
}

export function testLoader(d: PreparedData, c: LoaderConfig, tenCrop = false): Loader {
  const transform = tenCrop ? d.tenCropTransform : d.testTransform;
  if (!transform) throw new TesseraError('eval', 'ten-crop evaluation needs images larger than the crop (not Fashion-MNIST)');
  return createLoader(d.test, {
    batchSize: tenCrop ? Math.max(1, Math.floor(c.batchSize / 10)) : c.batchSize,
    shuffle: false,
    seed: c.seed,
    transform,
    ...(c.workers !== undefined ? { workers: c.workers } : {}),
    ...(c.backend ? { backend: c.backend } : {}),
  });
}
