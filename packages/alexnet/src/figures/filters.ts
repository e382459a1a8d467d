/**
 * First-layer kernels as an image grid, like Figure 3 of Krizhevsky et al. (2012).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TesseraError, type Tensor } from '@tessera/tensor';
import { encodePng, type RasterImage } from './png.js';

export interface FilterGridOptions {
  /** Each kernel pixel becomes a scale × scale block (nearest neighbour). Default 4. */
  scale?: number;
  /** Pixels of `background` between kernels and around the grid. Default 1. */
  padding?: number;
  /**
   * Kernels per row. Default: 16 for the paper's conv1 ([96, 3, 11, 11], Figure 3's 16 × 3 rows per half);
   * otherwise the smallest divisor of the kernels per block that is at least √kernels (so rows come out full),
   * or ⌈√kernels⌉ when no such divisor is below 2√kernels.
   */
  columns?: number;
  /**
   * Consecutive runs of kernels drawn as separate blocks of rows, `blockGap` pixels apart. Default 2 for the paper's
   * conv1 [96, 3, 11, 11] — kernels 0–47 and 48–95, the two GPUs' halves in the paper (here, the kernels feeding
   * conv2's first and second group) — and 1 otherwise. Must divide the number of kernels.
   */
  blocks?: number;
  /** Extra pixels of `background` between blocks (on top of `padding`). Default 2 × scale. */
  blockGap?: number;
  /** The separator colour: a gray level or [r, g, b], 0–255. Default white. */
  background?: number | readonly [number, number, number];
  /**
   * 'kernel' (default): each kernel is min-max normalised on its own, over all its input channels together (so its
   * colours keep their balance), to 0–255 — kernels are comparable in pattern, not in magnitude; a constant kernel
   * is drawn mid-gray. 'layer': one min-max over the whole tensor, so magnitudes are comparable too.
   */
  normalize?: 'kernel' | 'layer';
}

/** What filterGrid reads from a weight: a Tensor, or anything with its shape and an async data(). */
export type FilterWeight = Pick<Tensor, 'shape' | 'data'>;

const PAPER_CONV1 = [96, 3, 11, 11] as const;

function isPaperConv1(shape: readonly number[]): boolean {
  return shape.length === 4 && shape.every((d, i) => d === PAPER_CONV1[i]);
}

function defaultColumns(kernels: number, perBlock: number): number {
  const root = Math.sqrt(kernels);
  for (let c = Math.ceil(root); c <= Math.min(perBlock, 2 * root); c++) if (perBlock % c === 0) return c;
  return Math.min(perBlock, Math.ceil(root));
}

function intOption(name: string, v: number | undefined, fallback: number, min: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < min) throw new TesseraError('filterGrid', `${name} must be an integer ≥ ${min}, got ${x}`);
  return x;
}

/**
 * Lays out first-layer convolution kernels [kernels, inChannels, kh, kw] as an image: RGB when inChannels = 3,
 * grayscale when 1. Each kernel is min-max normalised on its own (see `normalize`), upscaled by nearest neighbour
 * (`scale`), and separated from its neighbours by `padding` pixels of a neutral `background`; the paper variant's
 * two halves (kernels 0–47 and 48–95) are drawn as two blocks of rows, as in the paper's Figure 3.
 *
 * Kernel k sits in block b = ⌊k / perBlock⌋, row r = ⌊i / columns⌋ and column c = i mod columns of that block
 * (i = k mod perBlock), its top-left pixel at x = padding + c·(kw·scale + padding),
 * y = padding + b·(rowsPerBlock·(kh·scale + padding) + blockGap) + r·(kh·scale + padding).
 */
export async function filterGrid(weight: FilterWeight, options: FilterGridOptions = {}): Promise<RasterImage & { columns: number; blocks: number }> {
  const shape = weight.shape;
  if (shape.length !== 4) {
    throw new TesseraError('filterGrid', `expects convolution weights [kernels, inChannels, kh, kw], got a rank-${shape.length} tensor [${shape.join(', ')}]`);
  }
  const [k, cin, kh, kw] = shape as [number, number, number, number];
  if (cin !== 1 && cin !== 3) {
    throw new TesseraError(
      'filterGrid',
      `shows first-layer kernels with 1 (grayscale) or 3 (RGB) input channels; got [${shape.join(', ')}] — pick a layer that sees the image, e.g. features.0.weight`,
    );
  }
  if (k < 1 || kh < 1 || kw < 1) throw new TesseraError('filterGrid', `has nothing to draw for weights [${shape.join(', ')}]`);
  const paper = isPaperConv1(shape);
  const scale = intOption('scale', options.scale, 4, 1);
  const padding = intOption('padding', options.padding, 1, 0);
  const blocks = intOption('blocks', options.blocks, paper ? 2 : 1, 1);
  if (k % blocks !== 0) throw new TesseraError('filterGrid', `blocks (${blocks}) must divide the number of kernels (${k})`);
  const perBlock = k / blocks;
  const columns = Math.min(perBlock, intOption('columns', options.columns, paper ? 16 : defaultColumns(k, perBlock), 1));
  const blockGap = intOption('blockGap', options.blockGap, blocks > 1 ? 2 * scale : 0, 0);
  const normalize = options.normalize ?? 'kernel';
  if (normalize !== 'kernel' && normalize !== 'layer')
    throw new TesseraError('filterGrid', `normalize must be 'kernel' or 'layer', got ${JSON.stringify(normalize)}`);
  const bg = options.background ?? 255;
  const bgRgb = typeof bg === 'number' ? [bg, bg, bg] : [...bg];
  if (bgRgb.length !== 3 || bgRgb.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new TesseraError('filterGrid', `background must be a gray level or [r, g, b] of integers in 0–255, got ${JSON.stringify(bg)}`);
  }
  const channels: 1 | 3 = cin === 3 ? 3 : 1;
  // Grayscale output shows a colour background as its luminance (ITU-R BT.601).
  const fill = channels === 3 ? bgRgb : [Math.round(0.299 * bgRgb[0]! + 0.587 * bgRgb[1]! + 0.114 * bgRgb[2]!)];

  const data = await weight.data();
  const per = cin * kh * kw;
  if (data.length !== k * per) throw new TesseraError('filterGrid', `weights [${shape.join(', ')}] hold ${data.length} values, expected ${k * per}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new TesseraError(
        'filterGrid',
        `kernel ${Math.floor(i / per)} has a non-finite weight (${data[i]}); the checkpoint is probably from a diverged run`,
      );
    }
  }
  const range = (from: number, to: number): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = from; i < to; i++) {
      const v = data[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  };
  const layerRange = normalize === 'layer' ? range(0, data.length) : null;

  const cellW = kw * scale;
  const cellH = kh * scale;
  const rowsPerBlock = Math.ceil(perBlock / columns);
  const blockH = rowsPerBlock * (cellH + padding);
  const width = padding + columns * (cellW + padding);
  const height = padding + blocks * blockH + (blocks - 1) * blockGap;
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) pixels.set(fill, i * channels);

  const cell = new Uint8Array(per);
  for (let kernel = 0; kernel < k; kernel++) {
    const base = kernel * per;
    const [lo, hi] = layerRange ?? range(base, base + per);
    const span = hi - lo;
    for (let j = 0; j < per; j++) cell[j] = span > 0 ? Math.round((255 * (data[base + j]! - lo)) / span) : 128;
    const b = Math.floor(kernel / perBlock);
    const i = kernel % perBlock;
    const x0 = padding + (i % columns) * (cellW + padding);
    const y0 = padding + b * (blockH + blockGap) + Math.floor(i / columns) * (cellH + padding);
    for (let v = 0; v < kh; v++) {
      for (let u = 0; u < kw; u++) {
        for (let sy = 0; sy < scale; sy++) {
          let o = ((y0 + v * scale + sy) * width + x0 + u * scale) * channels;
          for (let sx = 0; sx < scale; sx++, o += channels) {
            for (let c = 0; c < channels; c++) pixels[o + c] = cell[(c * kh + v) * kw + u]!;
          }
        }
      }
    }
  }
  return { pixels, width, height, channels, columns, blocks };
}

/** Writes filterGrid(weight, options) to `path` as a PNG (creating its directory); returns the image. */
export async function writeFilterGrid(weight: FilterWeight, path: string, options: FilterGridOptions = {}): Promise<RasterImage> {
  const img = await filterGrid(weight, options);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(
    path,
    encodePng(img.pixels, img.width, img.height, img.channels, {
      text: { Software: 'tessera', Description: `first-layer kernels [${weight.shape.join(', ')}], ${options.normalize ?? 'kernel'}-normalised` },
    }),
  );
  return img;
}
