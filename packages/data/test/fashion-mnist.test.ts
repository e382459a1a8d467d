import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLoader,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  FASHION_MNIST_MEAN,
  FASHION_MNIST_STD,
  fashionMnistAvailable,
  fashionMnistDataset,
  loadFashionMnist,
  parseIdx,
  resizeBilinear,
} from '../src/index.js';
import { b64, fromB64f32, hasTorchvision, python, randomImage, tempDir } from './helpers.js';

function idx(type: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** Writes a tiny Fashion-MNIST look-alike: n images of 28×28 whose pixels encode (image, row, col). */
function writeSet(dir: string, split: 'train' | 't10k', n: number, gz: boolean, labels?: Uint8Array): void {
  mkdirSync(dir, { recursive: true });
  const images = new Uint8Array(n * 784).map((_, i) => (Math.floor(i / 784) * 31 + (i % 784)) % 256);
  const lab = labels ?? new Uint8Array(n).map((_, i) => i % 10);
  const write = (name: string, bytes: Buffer) => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  write(`${split}-images-idx3-ubyte`, idx(8, [n, 28, 28], images));
  write(`${split}-labels-idx1-ubyte`, idx(8, [lab.length], lab));
}

describe('IDX files', () => {
  it('parses gzipped and plain IDX files', () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6]);
    for (const bytes of [idx(8, [2, 3], data), gzipSync(idx(8, [2, 3], data))]) {
      const a = parseIdx(bytes, 'x.idx');
      expect(a.dims).toEqual([2, 3]);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('names the file and what is wrong', () => {
    expect(() => parseIdx(Buffer.from([1, 2, 8, 1, 0, 0, 0, 1, 7]), 'a.idx')).toThrow(/a\.idx: not an IDX file \(magic 01 02 08 01\)/);
    expect(() => parseIdx(idx(0x0d, [1], new Uint8Array(4)), 'b.idx')).toThrow(/b\.idx: IDX element type 0xd, expected 0x08/);
    expect(() => parseIdx(idx(8, [10, 28, 28], new Uint8Array(100)), 'c.idx')).toThrow(
      /c\.idx: header says \[10, 28, 28\] \(7840 bytes of data\) but the file holds 100/,
    );
    expect(() => parseIdx(gzipSync(idx(8, [4], new Uint8Array(4))).subarray(0, 15), 'd.gz')).toThrow(/d\.gz: the gzip stream is corrupt or truncated/);
  });
});

describe('loadFashionMnist', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir('fmnist');
    writeSet(join(dir.path, 'gz'), 'train', 20, true);
    writeSet(join(dir.path, 'gz'), 't10k', 10, true);
    writeSet(join(dir.path, 'plain'), 'train', 5, false);
  });
  afterAll(() => dir.remove());

  it('reads a split as uint8 images and int32 labels, gzipped or not', () => {
    const t = loadFashionMnist({ dir: join(dir.path, 'gz'), split: 'train' });
    expect([t.count, t.height, t.width, t.channels, t.images.length]).toEqual([20, 28, 28, 1, 20 * 784]);
    expect(t.images[784 * 3 + 5]).toBe((3 * 31 + 5) % 256);
    expect(Array.from(t.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(t.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(loadFashionMnist({ dir: join(dir.path, 'gz'), split: 'test' }).count).toBe(10);
    expect(loadFashionMnist({ dir: join(dir.path, 'plain'), split: 'train' }).count).toBe(5);
    expect(fashionMnistAvailable(join(dir.path, 'gz'))).toBe(true);
    expect(fashionMnistAvailable(join(dir.path, 'plain'))).toBe(false); // no test split
    expect(fashionMnistAvailable(join(dir.path, 'plain'), 'train')).toBe(true);
  });

  it('upscales and replicates channels for AlexNet-shaped models', () => {
    const t = loadFashionMnist({ dir: join(dir.path, 'gz'), split: 'train', resize: 64, channels: 3 });
    expect([t.height, t.width, t.channels, t.images.length]).toEqual([64, 64, 3, 20 * 64 * 64 * 3]);
    const plain = loadFashionMnist({ dir: join(dir.path, 'gz'), split: 'train' });
    const up = resizeBilinear({ data: plain.images.subarray(784 * 2, 784 * 3), height: 28, width: 28, channels: 1 }, 64, 64);
    for (let p = 0; p < 64 * 64; p++) for (let c = 0; c < 3; c++) expect(t.images[2 * 64 * 64 * 3 + 3 * p + c]).toBe(up[p]);
    // The lazy dataset gives the same image when it is read.
    const ds = fashionMnistDataset({ dir: join(dir.path, 'gz'), split: 'train', resize: 64, channels: 3 });
    const item = ds.getSync(2);
    expect(item.ok && Array.from(item.image.data)).toEqual(Array.from(t.images.subarray(2 * 64 * 64 * 3, 3 * 64 * 64 * 3)));
    expect(ds.imageShape).toEqual([64, 64, 3]);
  });

  it('says clearly when the files are absent or inconsistent', () => {
    expect(() => loadFashionMnist({ dir: join(dir.path, 'nowhere'), split: 'train' })).toThrow(
      /Fashion-MNIST train split not found: .*nowhere does not exist; pass the directory/,
    );
    expect(() => loadFashionMnist({ dir: join(dir.path, 'plain'), split: 'test' })).toThrow(/has no t10k-images-idx3-ubyte\.gz and t10k-labels-idx1-ubyte\.gz/);
    if (!fashionMnistAvailable()) {
      expect(() => loadFashionMnist({ split: 'train' })).toThrow(/install the Debian package dataset-fashion-mnist/);
    }
    const bad = join(dir.path, 'bad');
    writeSet(bad, 'train', 4, true, new Uint8Array([1, 2, 3]));
    expect(() => loadFashionMnist({ dir: bad, split: 'train' })).toThrow(/holds 3 labels but .* holds 4 images/);
    writeSet(bad, 'train', 4, true, new Uint8Array([1, 2, 12, 3]));
    expect(() => loadFashionMnist({ dir: bad, split: 'train' })).toThrow(/label 2 is 12, outside 0…9/);
    expect(() => loadFashionMnist({ dir: bad, split: 'valid' as 'train' })).toThrow(/split must be "train" or "test"/);
    expect(() => loadFashionMnist({ dir: bad, split: 'train', channels: 2 as 3 })).toThrow(/channels must be 1 or 3/);
  });
});

describe('bilinear resize', () => {
  it('keeps constant images constant and matches the align_corners=False formula at the corners', () => {
    const flat = resizeBilinear({ data: new Uint8Array(28 * 28).fill(77), height: 28, width: 28, channels: 1 }, 227, 227);
    expect(flat.every((v) => v === 77)).toBe(true);
    const img = randomImage(3, 4, 1, 2);
    const up = resizeBilinear(img, 6, 8);
    expect(up[0]).toBe(img.data[0]); // source position clamps to 0
    expect(up[6 * 8 - 1]).toBe(img.data[11]);
  });

  it.skipIf(!hasTorchvision)('agrees with torch F.interpolate(bilinear, align_corners=False) to rounding', () => {
    const img = randomImage(28, 28, 1, 6);
    const ref = fromB64f32(
      python<string>(
        `
import numpy as np, torch
import torch.nn.functional as F
a = torch.from_numpy(np.frombuffer(base64.b64decode(inp), dtype=np.uint8).reshape(1, 1, 28, 28).astype(np.float32))
print(json.dumps(base64.b64encode(F.interpolate(a, size=(227, 227), mode='bilinear', align_corners=False).numpy().astype(np.float32).tobytes()).decode()))
`,
        b64(img.data),
      ),
    );
    const ours = resizeBilinear(img, 227, 227);
    for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i]! - ref[i]!), `pixel ${i}`).toBeLessThanOrEqual(0.5 + 1e-3);
  });
});

describe.skipIf(!fashionMnistAvailable())(`the real Fashion-MNIST in ${FASHION_MNIST_DIR}`, () => {
  it('has 60 000 + 10 000 images, 6 000 + 1 000 per class, and the published statistics', () => {
    const train = loadFashionMnist({ split: 'train' });
    const test = loadFashionMnist({ split: 'test' });
    expect([train.count, test.count]).toEqual([60000, 10000]);
    const perClass = new Array(10).fill(0);
    for (const l of train.labels) perClass[l]++;
    expect(perClass).toEqual(new Array(10).fill(6000));
    let s = 0;
    let s2 = 0;
    for (const v of train.images) {
      s += v / 255;
      s2 += (v / 255) ** 2;
    }
    const mean = s / train.images.length;
    expect(mean).toBeCloseTo(FASHION_MNIST_MEAN, 4);
    expect(Math.sqrt(s2 / train.images.length - mean * mean)).toBeCloseTo(FASHION_MNIST_STD, 4);
  });

  it('feeds the loader: the whole test split in batches through worker threads', async () => {
    const ds = fashionMnistDataset({ split: 'test' });
    const loader = createLoader(ds, {
      batchSize: 1000,
      workers: 2,
      seed: 0,
      transform: { normalize: { kind: 'channel', mean: [FASHION_MNIST_MEAN], std: [FASHION_MNIST_STD] } },
    });
    let n = 0;
    for await (const b of loader.epoch()) {
      expect(b.images.shape).toEqual([b.size, 1, 28, 28]);
      n += b.size;
      b.images.dispose();
      b.labels.dispose();
    }
    await loader.close();
    expect(n).toBe(10000);
    expect(loader.report(0).skipped).toEqual([]);
  });
});
