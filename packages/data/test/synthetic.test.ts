import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticImagenet, imagenetClasses, openImagenet, sniffImage, type SyntheticManifest } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('generateSyntheticImagenet', () => {
  let dir: ReturnType<typeof tempDir>;
  let m: SyntheticManifest;
  beforeAll(async () => {
    dir = tempDir('synthetic');
    m = await generateSyntheticImagenet({
      root: join(dir.path, 'a'),
      classes: 5,
      trainPerClass: 16,
      valPerClass: 6,
      longSide: [40, 160],
      aspect: [1, 2],
      grayscale: 3,
      cmyk: 2,
      seed: 8,
    });
  });
  afterAll(() => dir.remove());

  it('writes real JPEG files of varied sizes and aspect ratios, some grayscale and some CMYK', () => {
    const sizes = new Set<string>();
    const components = new Map<string, number>();
    for (const f of [...m.train.files, ...m.val.files]) {
      const s = sniffImage(readFileSync(join(m.root, f)));
      expect(s.format, f).toBe('jpeg');
      const long = Math.max(s.width!, s.height!);
      const short = Math.min(s.width!, s.height!);
      expect(long).toBeGreaterThanOrEqual(40);
      expect(long).toBeLessThanOrEqual(160);
      expect(long / short).toBeLessThanOrEqual(2.05);
      sizes.add(`${s.width}x${s.height}`);
      components.set(f, s.jpegComponents!);
    }
    expect(sizes.size).toBeGreaterThan(50);
    expect(m.grayscale).toHaveLength(3);
    expect(m.cmyk).toHaveLength(2);
    for (const f of m.grayscale) expect(components.get(f)).toBe(1);
    for (const f of m.cmyk) expect(components.get(f)).toBe(4);
    expect([...components.values()].filter((c) => c === 3)).toHaveLength(80 + 30 - 5);
    expect(m.wnids).toEqual(
      imagenetClasses()
        .slice(0, 5)
        .map((c) => c.wnid),
    );
  });

  it('is deterministic for a seed', async () => {
    const opts = { classes: 2, trainPerClass: 2, valPerClass: 1, seed: 3, layout: 'devkit' as const };
    const b = await generateSyntheticImagenet({ root: join(dir.path, 'b'), ...opts });
    const c = await generateSyntheticImagenet({ root: join(dir.path, 'c'), ...opts });
    const d = await generateSyntheticImagenet({ root: join(dir.path, 'd'), ...opts, seed: 4 });
    for (const f of [...b.train.files, ...b.val.files]) expect(readFileSync(join(b.root, f)).equals(readFileSync(join(c.root, f))), f).toBe(true);
    expect(readFileSync(join(b.root, b.train.files[0]!)).equals(readFileSync(join(d.root, d.train.files[0]!)))).toBe(false);
    const gt = readFileSync(join(b.root, 'ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt'), 'utf8').trim().split('\n').map(Number);
    expect(gt).toEqual(b.val.labels.map((l) => imagenetClasses()[l]!.ilsvrcId));
  });

  it('carries a learnable class signal: nearest class mean of colour histograms beats chance by far', async () => {
    // A 4×4×4 joint colour histogram of a 32×32 thumbnail: a feature a linear model could compute.
    const thumbs = async (split: string) => {
      const ds = await openImagenet({ root: m.root, split, size: 32 });
      const xs: Float64Array[] = [];
      for (let i = 0; i < ds.length; i++) {
        const it = await ds.get(i);
        if (!it.ok) throw new Error(it.reason);
        const h = new Float64Array(64);
        const d = it.image.data;
        for (let p = 0; p < d.length; p += 3) h[(d[p]! >> 6) * 16 + (d[p + 1]! >> 6) * 4 + (d[p + 2]! >> 6)]! += 3 / d.length;
        xs.push(h);
      }
      return { xs, labels: Array.from(ds.labels) };
    };
    const train = await thumbs('train');
    const val = await thumbs('val');
    const dims = train.xs[0]!.length;
    const means = Array.from({ length: 5 }, (_, c) => {
      const mine = train.xs.filter((_, i) => train.labels[i] === c);
      return Float64Array.from({ length: dims }, (_, d) => mine.reduce((s, x) => s + x[d]!, 0) / mine.length);
    });
    let correct = 0;
    val.xs.forEach((x, i) => {
      const dist = means.map((mu) => mu.reduce((s, v, d) => s + (v - x[d]!) ** 2, 0));
      if (dist.indexOf(Math.min(...dist)) === val.labels[i]) correct++;
    });
    expect(correct / val.xs.length).toBeGreaterThan(0.6); // chance is 0.2
  });

  it('rejects impossible requests', async () => {
    await expect(generateSyntheticImagenet({ root: join(dir.path, 'e'), classes: 0 })).rejects.toThrow(/classes must be an integer in \[1, 1000\], got 0/);
    await expect(generateSyntheticImagenet({ root: join(dir.path, 'e'), layout: 'zip' as 'folders' })).rejects.toThrow(/layout must be/);
    await expect(generateSyntheticImagenet({ root: join(dir.path, 'e'), classes: 1, trainPerClass: 2, grayscale: 2, cmyk: 1 })).rejects.toThrow(
      /exceeds the 2 training images/,
    );
  });
});
