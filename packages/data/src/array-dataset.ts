/**
 * A dataset held in memory: N images of one size in a single uint8 array (N × H × W × C), with labels. The
 * arrays live in shared memory, so worker threads read them without a copy. Optionally each image is upscaled
 * (bilinear) and/or its single channel replicated to RGB when it is read, which is how Fashion-MNIST feeds an
 * AlexNet-shaped model without materialising 60 000 large images.
 */
import { TesseraError } from '@tessera/tensor';
import { checkIndex, runnableModuleUrl, type Dataset, type Item, type WorkerSpec } from './dataset.js';
import { resizeBilinear } from './resize.js';
import { toShared } from './shared.js';

export interface ArrayDatasetOptions {
  /** N × height × width × channels bytes, image after image, rows of interleaved channels. */
  readonly images: Uint8Array;
  /** N labels in [0, numClasses). */
  readonly labels: ArrayLike<number>;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames?: readonly string[];
  /** Resize each image to size × size (bilinear) when read. */
  readonly resize?: number;
  /** 3 replicates single-channel images to RGB when read. */
  readonly outChannels?: number;
  /** How `source(i)` names image i, e.g. `fashion-mnist train`. */
  readonly name?: string;
}

interface ArraySpecArgs {
  images: Uint8Array;
  labels: Int32Array;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  resize: number | undefined;
  outChannels: number;
  name: string;
}

export class ArrayDataset implements Dataset {
  readonly length: number;
  readonly numClasses: number;
  readonly imageShape: readonly [number, number, number];
  readonly classNames: readonly string[] | undefined;
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  private readonly args: ArraySpecArgs;
  private readonly imageBytes: number;

  constructor(options: ArrayDatasetOptions) {
    const op = 'ArrayDataset';
    const { height, width, channels, numClasses } = options;
    for (const [k, v] of Object.entries({ height, width, channels, numClasses })) {
      if (!Number.isInteger(v) || v < 1) throw new TesseraError(op, `${k} must be a positive integer, got ${v}`);
    }
    if (!(options.images instanceof Uint8Array)) throw new TesseraError(op, 'images must be a Uint8Array');
    const imageBytes = height * width * channels;
    const n = options.labels.length;
    if (options.images.length !== n * imageBytes) {
      throw new TesseraError(op, `images hold ${options.images.length} bytes but ${n} labels × ${height}×${width}×${channels} needs ${n * imageBytes}`);
    }
    const labels = toShared(options.labels instanceof Int32Array ? options.labels : Int32Array.from(options.labels));
    for (let i = 0; i < n; i++) {
      const l = labels[i]!;
      if (!Number.isInteger(options.labels[i]) || l < 0 || l >= numClasses)
        throw new TesseraError(op, `label ${i} is ${options.labels[i]}, outside [0, ${numClasses})`);
    }
    const resize = options.resize;
    if (resize !== undefined && (!Number.isInteger(resize) || resize < 1)) throw new TesseraError(op, `resize must be a positive integer, got ${resize}`);
    const outChannels = options.outChannels ?? channels;
    if (!(outChannels === channels || (channels === 1 && outChannels === 3)))
      throw new TesseraError(op, `cannot turn ${channels}-channel images into ${outChannels} channels`);
    if (options.classNames && options.classNames.length !== numClasses)
      throw new TesseraError(op, `${options.classNames.length} class names for ${numClasses} classes`);
    this.args = { images: toShared(options.images), labels, height, width, channels, numClasses, resize, outChannels, name: options.name ?? 'array' };
    this.images = this.args.images;
    this.labels = labels;
    this.length = n;
    this.numClasses = numClasses;
    this.classNames = options.classNames;
    this.imageBytes = imageBytes;
    this.imageShape = [resize ?? height, resize ?? width, outChannels];
  }

  source(index: number): string {
    return `${this.args.name} #${index}`;
  }

  /** Image `index` as stored (before resize and channel replication), without a copy. */
  raw(index: number): Uint8Array {
    checkIndex('ArrayDataset.raw', index, this.length);
    return this.images.subarray(index * this.imageBytes, (index + 1) * this.imageBytes);
  }

  async get(index: number): Promise<Item> {
    return this.getSync(index);
  }

  /** The same as `get`, synchronously (in-memory data needs no waiting). */
  getSync(index: number): Item {
    checkIndex('ArrayDataset.get', index, this.length);
    const { height, width, channels, resize, outChannels } = this.args;
    let image = { data: this.raw(index), height, width, channels };
    if (resize !== undefined && (resize !== height || resize !== width))
      image = { data: resizeBilinear(image, resize, resize), height: resize, width: resize, channels };
    if (outChannels !== channels) {
      const n = image.height * image.width;
      const rgb = new Uint8Array(n * 3);
      for (let p = 0; p < n; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = image.data[p]!;
      image = { data: rgb, height: image.height, width: image.width, channels: 3 };
    }
    return { ok: true, image, label: this.labels[index]! };
  }

  workerSpec(): WorkerSpec {
    return { module: runnableModuleUrl(import.meta.url), exportName: 'arrayDatasetFromSpec', args: this.args };
  }
}

/** @internal The worker-thread side of ArrayDataset.workerSpec. */
export function arrayDatasetFromSpec(args: ArraySpecArgs): ArrayDataset {
  return new ArrayDataset(args);
}
