/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60 000 training and 10 000 test images, 28×28 grayscale, ten
 * classes, in the IDX format (gzipped or not). By default read from /usr/share/datasets/fashion-mnist, where
 * Debian's `dataset-fashion-mnist` package installs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TesseraError } from '@tessera/tensor';
import { ArrayDataset } from './array-dataset.js';
import { FASHION_MNIST_CLASSES, parseIdxWith, type IdxArray } from './idx.js';
import { resizeBilinear } from './resize.js';
import { sharedArray } from './shared.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export { FASHION_MNIST_CLASSES, FASHION_MNIST_MEAN, FASHION_MNIST_STD, type IdxArray } from './idx.js';

export type FashionMnistSplit = 'train' | 'test';

const FILES: Record<FashionMnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** Parses an IDX file of unsigned bytes (type 0x08), gzipped or not; `path` names it in errors. */
export function parseIdx(bytes: Uint8Array, path: string): IdxArray {
  return parseIdxWith(bytes, path, gunzipSync);
}

function findIdx(dir: string, base: string): string | undefined {
  return [`${base}.gz`, base].map((f) => join(dir, f)).find((p) => existsSync(p));
}

/** Whether the Fashion-MNIST files of `split` (default both) are present in `dir`. */
export function fashionMnistAvailable(dir: string = FASHION_MNIST_DIR, split?: FashionMnistSplit): boolean {
  const splits: FashionMnistSplit[] = split ? [split] : ['train', 'test'];
  return splits.every((s) => findIdx(dir, FILES[s].images) !== undefined && findIdx(dir, FILES[s].labels) !== undefined);
}

export interface FashionMnistOptions {
  /** Directory with the IDX files (default /usr/share/datasets/fashion-mnist). */
  readonly dir?: string;
  readonly split: FashionMnistSplit;
  /** Upscale every image to resize × resize (bilinear). */
  readonly resize?: number;
  /** 1 (default) or 3 (grayscale replicated into R, G, B). */
  readonly channels?: 1 | 3;
}

export interface FashionMnist {
  /** count × height × width × channels bytes (HWC per image). */
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classNames: readonly string[];
}

function readSplit(dir: string, split: FashionMnistSplit): { images: IdxArray; labels: IdxArray; imagesPath: string; labelsPath: string } {
  const op = 'loadFashionMnist';
  if (split !== 'train' && split !== 'test') throw new TesseraError(op, `split must be "train" or "test", got ${JSON.stringify(split)}`);
  const files = FILES[split];
  const imagesPath = findIdx(dir, files.images);
  const labelsPath = findIdx(dir, files.labels);
  if (!imagesPath || !labelsPath) {
    const missing = [!imagesPath ? `${files.images}.gz` : null, !labelsPath ? `${files.labels}.gz` : null].filter(Boolean).join(' and ');
    const hint =
      dir === FASHION_MNIST_DIR
        ? 'install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass { dir }'
        : 'pass the directory that holds the IDX files as { dir }';
    throw new TesseraError(op, `Fashion-MNIST ${split} split not found: ${existsSync(dir) ? `${dir} has no ${missing}` : `${dir} does not exist`}; ${hint}`);
  }
  const read = (p: string) => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new TesseraError(op, `cannot read ${p}: ${(e as Error).message}`);
    }
  };
  const images = parseIdx(read(imagesPath), imagesPath);
  const labels = parseIdx(read(labelsPath), labelsPath);
  if (images.dims.length !== 3) throw new TesseraError(op, `${imagesPath}: expected 3 dimensions [count, rows, cols], got [${images.dims.join(', ')}]`);
  if (labels.dims.length !== 1) throw new TesseraError(op, `${labelsPath}: expected 1 dimension [count], got [${labels.dims.join(', ')}]`);
  if (labels.dims[0] !== images.dims[0])
    throw new TesseraError(op, `${labelsPath} holds ${labels.dims[0]} labels but ${imagesPath} holds ${images.dims[0]} images`);
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new TesseraError(op, `${labelsPath}: label ${bad} is ${labels.data[bad]}, outside 0…9`);
  return { images, labels, imagesPath, labelsPath };
}

/**
 * Reads a split into memory: uint8 images (optionally upscaled and replicated to 3 channels) and int32 labels.
 * The arrays are in shared memory, ready for worker threads.
 */
export function loadFashionMnist(options: FashionMnistOptions): FashionMnist {
  const op = 'loadFashionMnist';
  const dir = resolve(options.dir ?? FASHION_MNIST_DIR);
  const channels = options.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new TesseraError(op, `channels must be 1 or 3, got ${channels}`);
  if (options.resize !== undefined && (!Number.isInteger(options.resize) || options.resize < 1))
    throw new TesseraError(op, `resize must be a positive integer, got ${options.resize}`);
  const { images, labels } = readSplit(dir, options.split);
  const [count, rows, cols] = images.dims as [number, number, number];
  const height = options.resize ?? rows;
  const width = options.resize ?? cols;
  const bytes = count * height * width * channels;
  if (bytes > 2 ** 31) {
    throw new TesseraError(
      op,
      `${count} images of ${height}×${width}×${channels} would take ${(bytes / 2 ** 30).toFixed(1)} GiB; use fashionMnistDataset({ resize }) to resize each image when it is read`,
    );
  }
  const out = sharedArray(Uint8Array, bytes);
  const inBytes = rows * cols;
  const plane = height * width;
  const scratch = new Uint8Array(plane);
  for (let i = 0; i < count; i++) {
    const src = { data: images.data.subarray(i * inBytes, (i + 1) * inBytes), height: rows, width: cols, channels: 1 };
    const gray = height === rows && width === cols ? src.data : resizeBilinear(src, height, width, scratch);
    if (channels === 1) out.set(gray, i * plane);
    else {
      const base = i * plane * 3;
      for (let p = 0; p < plane; p++) out[base + 3 * p] = out[base + 3 * p + 1] = out[base + 3 * p + 2] = gray[p]!;
    }
  }
  const lab = sharedArray(Int32Array, count);
  lab.set(labels.data);
  return { images: out, labels: lab, count, height, width, channels, classNames: FASHION_MNIST_CLASSES };
}

/**
 * Fashion-MNIST as a Dataset for the loader. The 28×28 images stay in memory as they are; `resize` and
 * `channels` are applied per image when it is read (so 227×227×3 inputs cost no extra memory).
 */
export function fashionMnistDataset(options: FashionMnistOptions): ArrayDataset {
  const op = 'fashionMnistDataset';
  const channels = options.channels ?? 1;
  if (channels !== 1 && channels !== 3) throw new TesseraError(op, `channels must be 1 or 3, got ${channels}`);
  const dir = resolve(options.dir ?? FASHION_MNIST_DIR);
  const { images, labels } = readSplit(dir, options.split);
  const [, rows, cols] = images.dims as [number, number, number];
  return new ArrayDataset({
    images: images.data,
    labels: labels.data,
    height: rows,
    width: cols,
    channels: 1,
    numClasses: 10,
    classNames: FASHION_MNIST_CLASSES,
    ...(options.resize !== undefined ? { resize: options.resize } : {}),
    outChannels: channels,
    name: `fashion-mnist ${options.split}`,
  });
}
