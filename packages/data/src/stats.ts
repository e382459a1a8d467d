/**
 * The `stats` pass over a training set: the per-pixel mean image (the paper's mean subtraction), per-channel
 * mean and standard deviation (torchvision's convention), and the covariance of RGB values over all pixels
 * with its eigen-decomposition (the PCA colour augmentation). Everything is in units of v = pixel / 255.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { TesseraError } from '@tessera/tensor';
import type { Dataset } from './dataset.js';
import { forEachOrdered } from './ordered.js';
import { epochOrder } from './random.js';
import type { LightingSpec, NormalizeSpec } from './transforms.js';

export interface ImageStats {
  /** Images the statistics were computed over (skipped images excluded). */
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** height × width × channels, HWC. */
  readonly meanImage: Float32Array;
  readonly channelMean: readonly number[];
  /** Population standard deviation over all pixels of all images. */
  readonly channelStd: readonly number[];
  /** channels × channels covariance of pixel values (population). */
  readonly covariance: readonly (readonly number[])[];
  /** Eigenvalues of the covariance, largest first. */
  readonly eigenvalues: readonly number[];
  /** Unit eigenvectors: `eigenvectors[i]` belongs to `eigenvalues[i]` (sign: largest component positive). */
  readonly eigenvectors: readonly (readonly number[])[];
  /** Images skipped because they could not be read. */
  readonly skipped: number;
}

export interface StatsOptions {
  /** Use a seeded random subset of this many images (default: all). */
  readonly limit?: number;
  readonly seed?: number;
  /** Images read and decoded at once (default 4). */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: eigenvalues descending, unit
 * eigenvectors. Accurate to rounding for the 3×3 covariances it is used on.
 */
export function symmetricEigen(matrix: readonly (readonly number[])[]): { values: number[]; vectors: number[][] } {
  const n = matrix.length;
  const a = matrix.map((row, i) => {
    if (row.length !== n) throw new TesseraError('symmetricEigen', `the matrix must be square; row ${i} has ${row.length} entries, not ${n}`);
    return row.slice();
  });
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (Math.abs(a[i]![j]! - a[j]![i]!) > 1e-9 * (Math.abs(a[i]![j]!) + Math.abs(a[j]![i]!) + 1e-300))
        throw new TesseraError('symmetricEigen', `the matrix is not symmetric at (${i}, ${j})`);
    }
  }
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i]![j]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (apq === 0) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y]![y]! - a[x]![x]!);
  const values = order.map((i) => a[i]![i]!);
  const vectors = order.map((i) => {
    const vec = v.map((row) => row[i]!);
    let big = 0;
    for (let k = 1; k < n; k++) if (Math.abs(vec[k]!) > Math.abs(vec[big]!)) big = k;
    return vec[big]! < 0 ? vec.map((x) => -x) : vec;
  });
  return { values, vectors };
}

/** Computes the statistics of a dataset whose images all have one size (e.g. ImageNet at 256×256). */
export async function computeStats(dataset: Dataset, options: StatsOptions = {}): Promise<ImageStats> {
  const op = 'computeStats';
  const shape = dataset.imageShape;
  if (!shape) throw new TesseraError(op, 'the dataset has images of different sizes; the mean image needs one size');
  const [H, W, C] = shape;
  const limit = options.limit ?? dataset.length;
  if (!Number.isInteger(limit) || limit < 1) throw new TesseraError(op, `limit must be a positive integer, got ${limit}`);
  const indices =
    limit >= dataset.length
      ? Int32Array.from({ length: dataset.length }, (_, i) => i)
      : epochOrder(dataset.length, options.seed ?? 0, 0, true)
          .slice(0, limit)
          .sort();
  const plane = H * W;
  const meanSum = new Float64Array(plane * C);
  const sum = new Float64Array(C);
  const cross = new Float64Array(C * C);
  const imgSum = new Float64Array(C);
  const imgCross = new Float64Array(C * C);
  let count = 0;
  let skipped = 0;
  await forEachOrdered(
    indices,
    options.concurrency ?? 4,
    async (i) => {
      try {
        return await dataset.get(i);
      } catch (e) {
        return { ok: false as const, reason: (e as Error).message };
      }
    },
    (item, _i, k) => {
      options.onProgress?.(k + 1, indices.length);
      if (!item.ok || item.image.height !== H || item.image.width !== W || item.image.channels !== C) {
        skipped++;
        return;
      }
      const d = item.image.data;
      imgSum.fill(0);
      imgCross.fill(0);
      // Integer sums within one image are exact in float64; scaled to v units once per image.
      for (let p = 0, o = 0; p < plane; p++, o += C) {
        for (let c = 0; c < C; c++) {
          const x = d[o + c]!;
          meanSum[o + c]! += x;
          imgSum[c]! += x;
          for (let c2 = c; c2 < C; c2++) imgCross[c * C + c2]! += x * d[o + c2]!;
        }
      }
      for (let c = 0; c < C; c++) {
        sum[c]! += imgSum[c]! / 255;
        for (let c2 = c; c2 < C; c2++) cross[c * C + c2]! += imgCross[c * C + c2]! / (255 * 255);
      }
      count++;
    },
  );
  if (count === 0) throw new TesseraError(op, `none of the ${indices.length} images could be read`);
  const pixels = count * plane;
  const channelMean = Array.from(sum, (s) => s / pixels);
  const covariance = Array.from({ length: C }, (_, i) =>
    Array.from({ length: C }, (_, j) => {
      const [a, b] = i <= j ? [i, j] : [j, i];
      return cross[a * C + b]! / pixels - channelMean[a]! * channelMean[b]!;
    }),
  );
  const channelStd = covariance.map((row, i) => Math.sqrt(Math.max(0, row[i]!)));
  const { values, vectors } = symmetricEigen(covariance);
  const meanImage = new Float32Array(plane * C);
  for (let i = 0; i < meanImage.length; i++) meanImage[i] = meanSum[i]! / (255 * count);
  return { count, height: H, width: W, channels: C, meanImage, channelMean, channelStd, covariance, eigenvalues: values, eigenvectors: vectors, skipped };
}

const STATS_FORMAT = 'tessera-image-stats';

/** Writes stats as JSON (the mean image as base64 little-endian float32). */
export async function saveStats(path: string, stats: ImageStats): Promise<void> {
  const bytes = new Uint8Array(stats.meanImage.buffer, stats.meanImage.byteOffset, stats.meanImage.byteLength);
  const json = {
    format: STATS_FORMAT,
    version: 1,
    ...stats,
    meanImage: Buffer.from(bytes).toString('base64'),
  };
  await writeFile(path, JSON.stringify(json, null, 1));
}

/** Reads stats written by saveStats, checking their shape. */
export function loadStats(path: string): ImageStats {
  const op = 'loadStats';
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new TesseraError(op, `cannot read ${path}: ${(e as Error).message}`);
  }
  if (j.format !== STATS_FORMAT || j.version !== 1) throw new TesseraError(op, `${path} is not a ${STATS_FORMAT} v1 file`);
  const { height: H, width: W, channels: C } = j as { height: number; width: number; channels: number };
  if (![H, W, C].every((x) => Number.isInteger(x) && x > 0)) throw new TesseraError(op, `${path}: bad image shape ${H}×${W}×${C}`);
  const raw = Buffer.from(String(j.meanImage), 'base64');
  if (raw.length !== H * W * C * 4) throw new TesseraError(op, `${path}: the mean image holds ${raw.length} bytes, expected ${H * W * C * 4}`);
  const meanImage = new Float32Array(H * W * C);
  new Uint8Array(meanImage.buffer).set(raw);
  const vec = (k: string, n: number) => {
    const v = j[k];
    if (!Array.isArray(v) || v.length !== n || !v.every(Number.isFinite)) throw new TesseraError(op, `${path}: ${k} must be ${n} numbers`);
    return v as number[];
  };
  const mat = (k: string) => {
    const m = j[k];
    if (!Array.isArray(m) || m.length !== C || !m.every((row) => Array.isArray(row) && row.length === C && row.every(Number.isFinite))) {
      throw new TesseraError(op, `${path}: ${k} must be a ${C}×${C} matrix of numbers`);
    }
    return m as number[][];
  };
  const covariance = mat('covariance');
  const eigenvectors = mat('eigenvectors');
  return {
    count: Number(j.count),
    height: H,
    width: W,
    channels: C,
    meanImage,
    channelMean: vec('channelMean', C),
    channelStd: vec('channelStd', C),
    covariance,
    eigenvalues: vec('eigenvalues', C),
    eigenvectors,
    skipped: Number(j.skipped ?? 0),
  };
}

/** The PCA colour augmentation from stats (σ = 0.1 as in the paper). */
export function lightingFromStats(stats: ImageStats, std = 0.1): LightingSpec {
  if (stats.channels !== 3) throw new TesseraError('lightingFromStats', `the PCA colour augmentation needs RGB stats, these have ${stats.channels} channel(s)`);
  return { eigenvalues: stats.eigenvalues, eigenvectors: stats.eigenvectors, std };
}

/** The paper's mean-image normalisation from stats; scale 255 gives pixel levels minus the mean. */
export function meanImageNormalize(stats: ImageStats, scale = 1): NormalizeSpec {
  return { kind: 'image', mean: stats.meanImage, height: stats.height, width: stats.width, channels: stats.channels, scale };
}

/** torchvision-style per-channel normalisation from stats. */
export function channelNormalize(stats: ImageStats): NormalizeSpec {
  return { kind: 'channel', mean: stats.channelMean, std: stats.channelStd };
}
