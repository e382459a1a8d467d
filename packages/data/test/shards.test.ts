import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLoader,
  generateSyntheticImagenet,
  openImagenet,
  openShards,
  writeShards,
  type HostBatch,
  type ImagenetDataset,
  type ShardIndex,
  type TransformSpec,
  type WriteShardsReport,
} from '../src/index.js';
import { firstDifference, tempDir } from './helpers.js';

const center: TransformSpec = { crop: { kind: 'center', size: 48 }, normalize: { kind: 'unit' } };

async function host(ds: Parameters<typeof createLoader>[0], workers: number, transform: TransformSpec = center): Promise<HostBatch[]> {
  const loader = createLoader(ds, { batchSize: 64, shuffle: false, workers, transform });
  const out: HostBatch[] = [];
  for await (const b of loader.epochHost()) out.push(b);
  await loader.close();
  return out;
}

function cat(bs: HostBatch[]): Uint8Array {
  const n = bs.reduce((s, b) => s + b.images.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const b of bs) {
    out.set(b.images, o);
    o += b.images.length;
  }
  return new Uint8Array(out.buffer);
}

describe('shard cache', () => {
  let dir: ReturnType<typeof tempDir>;
  let jpeg: ImagenetDataset;
  let report: WriteShardsReport;
  let cache: string;
  beforeAll(async () => {
    dir = tempDir('shards');
    await generateSyntheticImagenet({
      root: join(dir.path, 'set'),
      classes: 3,
      trainPerClass: 6,
      valPerClass: 1,
      longSide: [60, 120],
      cmyk: 1,
      bad: { truncated: 1, empty: 1, png: 1 },
      seed: 4,
    });
    jpeg = await openImagenet({ root: join(dir.path, 'set'), split: 'train', size: 64 });
    cache = join(dir.path, 'cache');
    report = await writeShards(jpeg, { dir: cache, recordsPerShard: 7 });
  });
  afterAll(() => dir.remove());

  it('writes every readable image once, lists the skipped ones, and splits records over shards', () => {
    expect(jpeg.length).toBe(21);
    expect(report.written + report.skipped.length).toBe(21);
    expect(report.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/^truncated JPEG/), expect.stringMatching(/empty file/)]);
    expect(report.shards).toBe(3); // 19 records, 7 per shard
    expect(readdirSync(cache).sort()).toEqual(['index.json', 'shard-00000.bin', 'shard-00001.bin', 'shard-00002.bin']);
    expect(
      report.notes
        .map((n) => n.notes)
        .flat()
        .sort(),
    ).toEqual(['cmyk', 'png-content']);
  });

  it('serves exactly the decoded images, with their labels and sources', async () => {
    const shards = await openShards(cache);
    expect(shards.length).toBe(19);
    expect(shards.imageShape).toEqual([64, 64, 3]);
    const skipped = new Set(report.skipped.map((s) => s.index));
    const kept = Array.from({ length: 21 }, (_, i) => i).filter((i) => !skipped.has(i));
    for (let r = 0; r < shards.length; r++) {
      const [a, b] = await Promise.all([shards.get(r), jpeg.get(kept[r]!)]);
      if (!a.ok || !b.ok) throw new Error('unreadable');
      expect(firstDifference(a.image.data, b.image.data), `record ${r}`).toBeNull();
      expect(a.label).toBe(b.label);
      expect(shards.source(r)).toContain(jpeg.source(kept[r]!));
    }
    await shards.close();
  });

  it('gives the loader the same batches as decoding the JPEGs, with and without workers', async () => {
    const shards = await openShards(cache);
    const fromJpeg = cat(await host(jpeg, 0));
    expect(firstDifference(cat(await host(shards, 0)), fromJpeg)).toBeNull();
    expect(firstDifference(cat(await host(shards, 2)), fromJpeg)).toBeNull();
    await shards.close();
  });

  it('refuses to overwrite a cache unless asked', async () => {
    await expect(writeShards(jpeg, { dir: cache })).rejects.toThrow(/already holds a shard cache \(index\.json\); pass overwrite: true/);
  });

  describe('verification', () => {
    const copy = (name: string) => {
      const to = join(dir.path, name);
      mkdirSync(to);
      for (const f of readdirSync(cache)) copyFileSync(join(cache, f), join(to, f));
      return to;
    };

    it('a truncated shard fails on open, naming the file and both lengths', async () => {
      const c = copy('truncated');
      truncateSync(join(c, 'shard-00001.bin'), 7 * 64 * 64 * 3 - 10);
      await expect(openShards(c)).rejects.toThrow(/shard-00001\.bin is 86006 bytes, expected 86016 \(7 records of 12288\): truncated or overwritten/);
      rmSync(join(c, 'shard-00002.bin'));
      await expect(openShards(c, { verify: 'length' })).rejects.toThrow(/shard-00001\.bin is 86006 bytes/);
    });

    it('a flipped byte fails the full check on open; with length-only checks the record is skipped and reported', async () => {
      const c = copy('flipped');
      const path = join(c, 'shard-00000.bin');
      const bytes = readFileSync(path);
      bytes[3 * 12288 + 100] = bytes[3 * 12288 + 100]! ^ 0x40; // record 3
      writeFileSync(path, bytes);
      await expect(openShards(c)).rejects.toThrow(/shard-00000\.bin fails its CRC-32 check .*: the shard is corrupt; rewrite the cache/);
      const shards = await openShards(c, { verify: 'length' });
      const loader = createLoader(shards, { batchSize: 8, shuffle: false, workers: 1, transform: center });
      let read = 0;
      for await (const b of loader.epochHost()) read += b.size;
      const r = loader.report();
      await loader.close();
      await shards.close();
      expect(read).toBe(18);
      expect(r.skipped).toEqual([expect.objectContaining({ index: 3, reason: 'the record fails its CRC-32 check (the shard is corrupt)' })]);
      expect(r.skipped[0]!.source).toMatch(/shard-00000\.bin record 3/);
    });

    it('a missing, unfinished or damaged index is a clear error', async () => {
      await expect(openShards(join(dir.path, 'absent'))).rejects.toThrow(/the shard directory does not exist/);
      const c = copy('index');
      const good = readFileSync(join(c, 'index.json'), 'utf8');
      rmSync(join(c, 'index.json'));
      await expect(openShards(c)).rejects.toThrow(/no index\.json: not a shard cache, or the preprocessing pass did not finish/);
      writeFileSync(join(c, 'index.json'), good.slice(0, good.length / 2));
      await expect(openShards(c)).rejects.toThrow(/index\.json is unreadable or corrupt/);
      const idx = JSON.parse(good) as ShardIndex;
      writeFileSync(join(c, 'index.json'), JSON.stringify({ ...idx, labels: idx.labels.slice(1) }));
      await expect(openShards(c)).rejects.toThrow(/labels has 18 entries for 19 records/);
      writeFileSync(join(c, 'index.json'), JSON.stringify({ ...idx, labels: idx.labels.map(() => 5000) }));
      await expect(openShards(c)).rejects.toThrow(/record 0 has label 5000, outside \[0, 1000\)/);
    });
  });
});
