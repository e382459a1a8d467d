import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  computeStats,
  loadStats,
  paperTestTransform,
  paperTrainTransform,
  saveStats,
  symmetricEigen,
  transformImage,
  type Dataset,
  type ImageStats,
} from '../src/index.js';
import { b64, hasNumpy, python, randomImage, tempDir } from './helpers.js';

const N = 12;
const H = 6;
const W = 5;

/** Images with correlated channels (like photographs), so the covariance has a clear principal axis. */
function dataset(): ArrayDataset {
  const images = new Uint8Array(N * H * W * 3);
  const noise = randomImage(N * H, W, 3, 77).data;
  for (let p = 0; p < N * H * W; p++) {
    const base = noise[3 * p]!;
    images[3 * p] = base;
    images[3 * p + 1] = Math.min(255, Math.round(base * 0.8 + noise[3 * p + 1]! * 0.2));
    images[3 * p + 2] = Math.min(255, Math.round(base * 0.5 + noise[3 * p + 2]! * 0.5));
  }
  return new ArrayDataset({ images, labels: Array.from({ length: N }, () => 0), height: H, width: W, channels: 3, numClasses: 1 });
}

describe('symmetricEigen', () => {
  it('decomposes known matrices', () => {
    const d = symmetricEigen([
      [2, 0, 0],
      [0, 5, 0],
      [0, 0, 1],
    ]);
    expect(d.values).toEqual([5, 2, 1]);
    expect(d.vectors).toEqual([
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 1],
    ]);
    const e = symmetricEigen([
      [2, 1],
      [1, 2],
    ]);
    expect(e.values[0]).toBeCloseTo(3, 12);
    expect(e.values[1]).toBeCloseTo(1, 12);
    expect(Math.abs(e.vectors[0]![0]!)).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('reconstructs random symmetric matrices: A = Σ λᵢ pᵢpᵢᵀ with orthonormal pᵢ, λ descending', () => {
    const entry = fc.double({ min: -10, max: 10, noNaN: true });
    fc.assert(
      fc.property(fc.tuple(entry, entry, entry, entry, entry, entry), ([a, b, c, d, e, f]) => {
        const A = [
          [a, b, c],
          [b, d, e],
          [c, e, f],
        ];
        const { values, vectors } = symmetricEigen(A);
        expect(values[0]).toBeGreaterThanOrEqual(values[1]!);
        expect(values[1]).toBeGreaterThanOrEqual(values[2]!);
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            const dot = vectors[i]!.reduce((s, x, k) => s + x * vectors[j]![k]!, 0);
            expect(dot).toBeCloseTo(i === j ? 1 : 0, 9);
            const rebuilt = values.reduce((s, l, k) => s + l * vectors[k]![i]! * vectors[k]![j]!, 0);
            expect(rebuilt).toBeCloseTo(A[i]![j]!, 8);
          }
      }),
    );
  });

  it('rejects non-symmetric and non-square input', () => {
    expect(() =>
      symmetricEigen([
        [1, 2],
        [3, 4],
      ]),
    ).toThrow(/not symmetric at \(1, 0\)/);
    expect(() => symmetricEigen([[1, 2], [2]])).toThrow(/row 1 has 1 entries/);
  });
});

describe('computeStats', () => {
  let stats: ImageStats;
  let dir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    dir = tempDir('stats');
    stats = await computeStats(dataset());
  });
  afterAll(() => dir.remove());

  it('computes the mean image, channel mean/std and covariance of v = x / 255 exactly', () => {
    const ds = dataset();
    const px = Array.from({ length: N * H * W }, (_, p) => [0, 1, 2].map((c) => ds.images[3 * p + c]! / 255));
    const mean = [0, 1, 2].map((c) => px.reduce((s, v) => s + v[c]!, 0) / px.length);
    for (let c = 0; c < 3; c++) expect(stats.channelMean[c]).toBeCloseTo(mean[c]!, 12);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const cov = px.reduce((s, v) => s + (v[i]! - mean[i]!) * (v[j]! - mean[j]!), 0) / px.length;
        expect(stats.covariance[i]![j]).toBeCloseTo(cov, 12);
      }
    for (let c = 0; c < 3; c++) expect(stats.channelStd[c]).toBeCloseTo(Math.sqrt(stats.covariance[c]![c]!), 12);
    for (let q = 0; q < H * W * 3; q++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += ds.images[n * H * W * 3 + q]! / 255;
      expect(stats.meanImage[q]).toBeCloseTo(s / N, 6);
    }
    expect([stats.count, stats.height, stats.width, stats.channels, stats.skipped]).toEqual([N, H, W, 3, 0]);
    // Correlated channels: the first principal axis carries most of the variance, all components positive.
    expect(stats.eigenvalues[0]! / (stats.eigenvalues[1]! + stats.eigenvalues[2]!)).toBeGreaterThan(5);
    expect(stats.eigenvectors[0]!.every((x) => x > 0)).toBe(true);
  });

  it.skipIf(!hasNumpy)('agrees with numpy (mean image, channel stats, np.cov, eigh)', () => {
    const ds = dataset();
    const r = python<{ mean: number[]; std: number[]; cov: number[][]; values: number[]; vectors: number[][]; meanImage: number[] }>(
      `
import numpy as np
a = np.frombuffer(base64.b64decode(inp['data']), dtype=np.uint8).reshape(inp['n'], inp['h'], inp['w'], 3).astype(np.float64) / 255
px = a.reshape(-1, 3)
cov = np.cov(px, rowvar=False, bias=True)
w, v = np.linalg.eigh(cov)
order = np.argsort(w)[::-1]
print(json.dumps({'mean': px.mean(0).tolist(), 'std': px.std(0).tolist(), 'cov': cov.tolist(), 'values': w[order].tolist(),
                  'vectors': v[:, order].T.tolist(), 'meanImage': a.mean(0).reshape(-1).tolist()}))
`,
      { data: b64(ds.images), n: N, h: H, w: W },
    );
    r.mean.forEach((x, c) => expect(stats.channelMean[c]).toBeCloseTo(x, 12));
    r.std.forEach((x, c) => expect(stats.channelStd[c]).toBeCloseTo(x, 12));
    r.cov.forEach((row, i) => row.forEach((x, j) => expect(stats.covariance[i]![j]).toBeCloseTo(x, 12)));
    r.values.forEach((x, i) => expect(stats.eigenvalues[i]).toBeCloseTo(x, 12));
    // Eigenvectors are defined up to sign.
    r.vectors.forEach((v, i) => {
      const dot = v.reduce((s, x, k) => s + x * stats.eigenvectors[i]![k]!, 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 10);
    });
    r.meanImage.forEach((x, q) => expect(stats.meanImage[q]).toBeCloseTo(x, 6));
  });

  it('round-trips through saveStats / loadStats, and rejects damaged files', async () => {
    const path = join(dir.path, 'stats.json');
    await saveStats(path, stats);
    const back = loadStats(path);
    expect(back).toEqual({ ...stats, meanImage: back.meanImage });
    expect(Array.from(back.meanImage)).toEqual(Array.from(stats.meanImage));
    writeFileSync(path, '{"format":"something-else"}');
    expect(() => loadStats(path)).toThrow(/is not a tessera-image-stats v1 file/);
    expect(() => loadStats(join(dir.path, 'missing.json'))).toThrow(/cannot read .*missing\.json/);
  });

  it('samples a seeded subset with limit, and counts unreadable images as skipped', async () => {
    const sub = await computeStats(dataset(), { limit: 5, seed: 3 });
    expect(sub.count).toBe(5);
    const base = dataset();
    const flaky: Dataset = {
      ...base,
      imageShape: base.imageShape,
      length: base.length,
      numClasses: 1,
      source: (i) => `#${i}`,
      get: async (i) => (i % 4 === 0 ? { ok: false, reason: 'broken' } : base.get(i)),
    };
    const s = await computeStats(flaky);
    expect([s.count, s.skipped]).toEqual([9, 3]);
  });

  it('drives the paper transforms: mean image subtracted in pixel levels, PCA lighting from the eigenpairs', () => {
    const img = randomImage(H, W, 3, 5);
    const test = transformImage(img, paperTestTransform(stats, { size: 4 }));
    // Centre 4×4 of 6×5: top 1, left round(0.5) = 0.
    expect(test[0]).toBeCloseTo(img.data[(1 * W + 0) * 3]! - 255 * stats.meanImage[(1 * W + 0) * 3]!, 3);
    const spec = paperTrainTransform(stats, { size: 4 });
    expect(spec.lighting).toEqual({ eigenvalues: stats.eigenvalues, eigenvectors: stats.eigenvectors, std: 0.1 });
    expect(paperTrainTransform(stats, { lightingStd: 0 }).lighting).toBeUndefined();
  });
});
