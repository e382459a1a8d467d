import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TesseraError } from '@tessera/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  augmentDraws,
  createLoader,
  generateSyntheticImagenet,
  IMAGENET_MEAN,
  IMAGENET_PCA,
  IMAGENET_STD,
  openImagenet,
  transformImage,
  type Dataset,
  type HostBatch,
  type ImagenetDataset,
  type LoaderOptions,
  type SyntheticManifest,
  type TransformSpec,
} from '../src/index.js';
import { firstDifference, tempDir } from './helpers.js';

const train: TransformSpec = {
  crop: { kind: 'random', size: 56 },
  flip: true,
  lighting: { ...IMAGENET_PCA, std: 0.1 },
  normalize: { kind: 'channel', mean: IMAGENET_MEAN, std: IMAGENET_STD },
};

async function collect(ds: Dataset, options: LoaderOptions, epochs = 1): Promise<HostBatch[]> {
  const loader = createLoader(ds, options);
  const out: HostBatch[] = [];
  try {
    for (let e = 0; e < epochs; e++) for await (const b of loader.epochHost()) out.push(b);
  } finally {
    await loader.close();
  }
  return out;
}

function bytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function expectSameBatches(a: HostBatch[], b: HostBatch[], what: string): void {
  expect(b.length, what).toBe(a.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    expect([y.epoch, y.position, y.size, Array.from(y.indices)], `${what}: batch ${i}`).toEqual([x.epoch, x.position, x.size, Array.from(x.indices)]);
    expect(firstDifference(bytes(y.labels), bytes(x.labels)), `${what}: labels of batch ${i}`).toBeNull();
    expect(firstDifference(bytes(y.images), bytes(x.images)), `${what}: images of batch ${i}`).toBeNull();
  });
}

/** Image files under dir, recursively. */
function filesOnDisk(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? filesOnDisk(join(dir, e.name)) : 1), 0);
}

describe('loader over a synthetic ImageNet with broken files', () => {
  let dir: ReturnType<typeof tempDir>;
  let m: SyntheticManifest;
  let ds: ImagenetDataset;
  beforeAll(async () => {
    dir = tempDir('loader');
    m = await generateSyntheticImagenet({
      root: dir.path,
      classes: 5,
      trainPerClass: 8,
      valPerClass: 2,
      longSide: [60, 140],
      grayscale: 2,
      cmyk: 2,
      bad: { truncated: 1, garbage: 1, empty: 1, png: 1 },
      seed: 11,
    });
    ds = await openImagenet({ root: dir.path, split: 'train', size: 64 });
  });
  afterAll(() => dir.remove());

  it('yields NCHW float32 and int32 tensors on the backend, and reads every image once per epoch', async () => {
    const loader = createLoader(ds, { batchSize: 8, seed: 5, workers: 1, transform: train, backend: 'cpu' });
    const seen: number[] = [];
    let batches = 0;
    for await (const b of loader.epoch()) {
      expect(b.images.shape).toEqual([b.size, 3, 56, 56]);
      expect(b.images.dtype).toBe('float32');
      expect(b.images.backend).toBe('cpu');
      expect(b.labels.shape).toEqual([b.size]);
      expect(b.labels.dtype).toBe('int32');
      const labels = Array.from(await b.labels.data());
      expect(labels).toEqual(Array.from(b.indices, (i) => ds.labels[i]));
      seen.push(...b.indices, ...b.skipped.map((s) => s.index));
      b.images.dispose();
      b.labels.dispose();
      batches++;
    }
    await loader.close();
    expect(batches).toBe(loader.length); // 44 images, 8 per batch: 6 batches, none entirely skipped
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: ds.length }, (_, i) => i));
    expect(loader.state()).toEqual({ epoch: 1, position: 0, seed: 5, shuffle: true, length: 44 });
  });

  it('images read + images skipped = images on disk, and the report names every broken file', async () => {
    const loader = createLoader(ds, { batchSize: 8, shuffle: false, workers: 2, transform: train });
    let read = 0;
    for await (const b of loader.epochHost()) read += b.size;
    const r = loader.report();
    await loader.close();
    const onDisk = filesOnDisk(join(dir.path, 'train'));
    expect(onDisk).toBe(44);
    expect(r.read).toBe(read);
    expect(r.read + r.skipped.length).toBe(onDisk);
    expect(r.visited).toBe(onDisk);
    const broken = [...m.bad.truncated, ...m.bad.garbage, ...m.bad.empty].map((f) => join(dir.path, f)).sort();
    expect(r.skipped.map((s) => s.source).sort()).toEqual(broken);
    const reasons = Object.fromEntries(r.skipped.map((s) => [s.source, s.reason]));
    expect(reasons[join(dir.path, m.bad.truncated[0]!)]).toMatch(/truncated JPEG: the \d+-byte file ends without an end-of-image marker/);
    expect(reasons[join(dir.path, m.bad.garbage[0]!)]).toMatch(/not an image/);
    expect(reasons[join(dir.path, m.bad.empty[0]!)]).toMatch(/empty file/);
    const notes = Object.fromEntries(r.notes.map((n) => [n.source, n.notes]));
    expect(notes[join(dir.path, m.bad.png[0]!)]).toEqual(['png-content']);
    for (const f of m.cmyk) expect(notes[join(dir.path, f)]).toEqual(['cmyk']);
    for (const f of m.grayscale) expect(notes[join(dir.path, f)]).toEqual(['grayscale']);
  });

  it('produces identical batches with 0, 1, 2 or 3 workers', async () => {
    const base = { batchSize: 7, seed: 123, transform: train, prefetch: 2 };
    const ref = await collect(ds, { ...base, workers: 0 }, 2);
    expect(ref.map((b) => b.epoch)).toContain(1);
    for (const workers of [1, 2, 3]) expectSameBatches(ref, await collect(ds, { ...base, workers, inflight: workers }, 2), `${workers} workers`);
  });

  it('transforms each image with the draws of (seed, epoch, its dataset index)', async () => {
    const bs = await collect(ds, { batchSize: 8, seed: 77, transform: train, workers: 2 }, 2);
    const per = 3 * 56 * 56;
    for (const b of [bs[0]!, bs[bs.length - 1]!]) {
      for (let r = 0; r < b.size; r++) {
        const index = b.indices[r]!;
        const item = await ds.get(index);
        if (!item.ok) throw new Error(item.reason);
        const expected = transformImage(item.image, train, augmentDraws(77, b.epoch, index));
        expect(firstDifference(bytes(b.images.subarray(r * per, (r + 1) * per)), bytes(expected)), `epoch ${b.epoch} row ${r}`).toBeNull();
      }
    }
  });

  it('tensor batches hold exactly the host batches', async () => {
    const host = await collect(ds, { batchSize: 16, seed: 3, transform: train, workers: 2 });
    const loader = createLoader(ds, { batchSize: 16, seed: 3, transform: train, workers: 2 });
    let i = 0;
    for await (const b of loader.epoch()) {
      expect(firstDifference(bytes((await b.images.data()) as Float32Array), bytes(host[i]!.images))).toBeNull();
      b.images.dispose();
      b.labels.dispose();
      i++;
    }
    await loader.close();
    expect(i).toBe(host.length);
  });

  it('shuffles by seed and epoch; augmentation differs between epochs; shuffle: false keeps dataset order', async () => {
    const order = (bs: HostBatch[], epoch: number) => bs.filter((b) => b.epoch === epoch).flatMap((b) => Array.from(b.indices));
    const a = await collect(ds, { batchSize: 44, seed: 1, transform: train, workers: 0 }, 2);
    const b = await collect(ds, { batchSize: 44, seed: 2, transform: train, workers: 0 }, 1);
    expect(order(a, 0)).not.toEqual(order(b, 0));
    expect(order(a, 0)).not.toEqual(order(a, 1));
    const plain = await collect(ds, { batchSize: 44, shuffle: false, seed: 1, transform: train, workers: 0 }, 2);
    const kept = Array.from({ length: 44 }, (_, i) => i).filter((i) => plain[0]!.indices.includes(i));
    expect(order(plain, 0)).toEqual(kept);
    expect(order(plain, 1)).toEqual(kept);
    // Same images, new crops, flips and colours.
    expect(firstDifference(bytes(plain[0]!.images), bytes(plain[1]!.images))).not.toBeNull();
  });

  it('resumes mid-epoch from a saved state with exactly the batches that were left', async () => {
    const options = { batchSize: 6, seed: 9, transform: train, workers: 1 };
    const full = await collect(ds, options, 2);
    const loader = createLoader(ds, options);
    for await (const _ of loader.epochHost()) void _; // epoch 0
    let taken = 0;
    for await (const _ of loader.epochHost()) if (++taken === 3) break; // three batches of epoch 1
    const saved = JSON.parse(JSON.stringify(loader.state()));
    expect(saved).toEqual({ epoch: 1, position: 18, seed: 9, shuffle: true, length: 44 });
    // Continuing the same loader after a break…
    const rest: HostBatch[] = [];
    for await (const b of loader.epochHost()) rest.push(b);
    await loader.close();
    const expected = full.filter((b) => b.epoch === 1 && b.position >= 18);
    expectSameBatches(expected, rest, 'same loader after break');
    // …and a new loader from the saved state (with another worker count) give the same batches.
    const resumed = await collect(ds, { batchSize: 6, transform: train, workers: 2, state: saved });
    expectSameBatches(expected, resumed, 'new loader from state');
  });

  it('test transforms: ten crops per image, image-major, exactly transformImage of each image', async () => {
    const val = await openImagenet({ root: dir.path, split: 'val', size: 64 });
    const tenCrop: TransformSpec = { crop: { kind: 'ten', size: 56 }, normalize: { kind: 'channel', mean: IMAGENET_MEAN, std: IMAGENET_STD } };
    const loader = createLoader(val, { batchSize: 4, shuffle: false, workers: 1, transform: tenCrop });
    const it0 = await loader.epoch().next();
    await loader.close();
    const b = it0.value!;
    expect(b.images.shape).toEqual([40, 3, 56, 56]);
    const data = (await b.images.data()) as Float32Array;
    for (let k = 0; k < 4; k++) {
      const item = await val.get(b.indices[k]!);
      if (!item.ok) throw new Error(item.reason);
      const per = 10 * 3 * 56 * 56;
      expect(firstDifference(bytes(data.subarray(k * per, (k + 1) * per)), bytes(transformImage(item.image, tenCrop)))).toBeNull();
    }
    b.images.dispose();
    b.labels.dispose();
  });
});

describe('loader edge cases', () => {
  const small = (n: number, numClasses = 3) =>
    new ArrayDataset({
      images: new Uint8Array(n * 4 * 4).map((_, i) => (i * 7) % 256),
      labels: Array.from({ length: n }, (_, i) => i % numClasses),
      height: 4,
      width: 4,
      channels: 1,
      numClasses,
    });

  it('dropLast leaves out the short last batch; the state rolls over to the next epoch', async () => {
    const bs = await collect(small(10), { batchSize: 4, dropLast: true, workers: 0 }, 2);
    expect(bs.map((b) => [b.epoch, b.size])).toEqual([
      [0, 4],
      [0, 4],
      [1, 4],
      [1, 4],
    ]);
    const kept = await collect(small(10), { batchSize: 4, workers: 0 });
    expect(kept.map((b) => b.size)).toEqual([4, 4, 2]);
  });

  it('works from memory through workers (the Fashion-MNIST path) with upscaling and channel replication', async () => {
    const ds = new ArrayDataset({
      images: new Uint8Array(6 * 28 * 28).map((_, i) => i % 251),
      labels: [0, 1, 2, 3, 4, 5],
      height: 28,
      width: 28,
      channels: 1,
      numClasses: 10,
      resize: 64,
      outChannels: 3,
    });
    const a = await collect(ds, { batchSize: 4, seed: 1, workers: 2, transform: { crop: { kind: 'random', size: 56 }, flip: true } });
    const b = await collect(ds, { batchSize: 4, seed: 1, workers: 0, transform: { crop: { kind: 'random', size: 56 }, flip: true } });
    expect(a.map((x) => x.shape)).toEqual([
      [4, 3, 56, 56],
      [2, 3, 56, 56],
    ]);
    expectSameBatches(b, a, 'array dataset, 0 vs 2 workers');
  });

  it('a dataset that yields nothing fails clearly on the first batch', async () => {
    const dir = tempDir('allbad');
    try {
      mkdirSync(join(dir.path, 'train', 'n01440764'), { recursive: true });
      for (let i = 0; i < 9; i++) writeFileSync(join(dir.path, 'train', 'n01440764', `x${i}.JPEG`), `not a jpeg ${i}`);
      const ds = await openImagenet({ root: dir.path, split: 'train' });
      const loader = createLoader(ds, { batchSize: 8, workers: 1 });
      await expect(collectFrom(loader.epochHost())).rejects.toThrow(
        /all 8 images of the first batch failed, so the dataset is unusable as configured — .*x\d\.JPEG: not an image/,
      );
      await loader.close();
    } finally {
      dir.remove();
    }
  });

  it('a worker that cannot rebuild the dataset fails the loader with the reason', async () => {
    const base = small(4);
    const broken: Dataset = {
      length: base.length,
      numClasses: base.numClasses,
      imageShape: base.imageShape,
      get: (i) => base.get(i),
      source: (i) => base.source(i),
      workerSpec: () => ({ module: 'file:///nonexistent/dataset.js', exportName: 'make', args: null }),
    };
    const loader = createLoader(broken, { batchSize: 2, workers: 1 });
    await expect(collectFrom(loader.epochHost())).rejects.toThrow(
      /worker 0 could not start: datasetFromSpec: cannot import file:\/\/\/nonexistent\/dataset\.js/,
    );
    await loader.close();
  });

  it('closing a loader ends an iteration that is waiting for a batch', async () => {
    const base = small(8);
    const slow: Dataset = {
      length: base.length,
      numClasses: base.numClasses,
      imageShape: base.imageShape,
      source: (i) => base.source(i),
      get: (i) => new Promise((resolve) => setTimeout(() => resolve(base.get(i)), 200)),
    };
    const loader = createLoader(slow, { batchSize: 4, workers: 0 });
    const pending = loader.epochHost().next();
    await new Promise((r) => setTimeout(r, 20));
    await loader.close();
    await expect(pending).rejects.toThrow(/the loader has been closed/);
  });

  it('rejects bad options and states with TesseraErrors', async () => {
    const ds = small(10);
    expect(() => createLoader(ds, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => createLoader(ds, { batchSize: 2, workers: -1 })).toThrow(/workers must be a non-negative integer/);
    expect(() => createLoader(ds, { batchSize: 2, state: { epoch: 0, position: 0, seed: 0, shuffle: true, length: 11 } })).toThrow(
      /saved for a dataset of 11 images; this one has 10/,
    );
    expect(() => createLoader(ds, { batchSize: 2, seed: 1, state: { epoch: 0, position: 0, seed: 2, shuffle: true, length: 10 } })).toThrow(
      /contradicts state\.seed 2/,
    );
    expect(() => createLoader(ds, { batchSize: 2, seed: -1 })).toThrow(TesseraError);
    expect(() => createLoader(ds, { batchSize: 2, transform: { crop: { kind: 'center', size: 5 } } })).toThrow(/5×5 crop does not fit in a 4×4 image/);
    const loader = createLoader(ds, { batchSize: 2, workers: 0 });
    const first = loader.epochHost();
    await first.next();
    await expect(collectFrom(loader.epochHost())).rejects.toThrow(/already being iterated/);
    await first.return(undefined);
    await loader.close();
    await expect(collectFrom(loader.epochHost())).rejects.toThrow(/has been closed/);
  });
});

async function collectFrom<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}
