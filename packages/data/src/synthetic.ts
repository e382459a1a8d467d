/**
 * Synthetic ImageNet-layout image sets, for tests, demos and benchmarks: real JPEG files (encoded by libvips)
 * written into the folder layouts `openImagenet` reads — folders, devkit or Kaggle — with the ILSVRC file names.
 *
 * Each class has a learnable signature: the foreground shape (disc, square, triangle, ring, cross), its hue,
 * and the orientation and frequency of the background stripes; every image varies position, scale, colour,
 * noise, size and aspect ratio. Some images can be written as grayscale or CMYK JPEGs, and `bad` adds the
 * broken files ILSVRC-2012 is known to contain (truncated, non-image, empty, and PNG data named .JPEG).
 *
 * Classes are the first K ILSVRC-2012 wnids in sorted order, so a class's ImageNet index equals its folder
 * index (labels agree whether a set is opened with classes: 'imagenet' or 'folder').
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { TesseraError } from '@tessera/tensor';
import { imagenetClasses } from './classes.js';
import type { ImagenetLayout } from './imagenet.js';
import { epochOrder } from './random.js';
import { SyntheticStream, renderSyntheticImage } from './synthetic-render.js';

export { renderSyntheticImage } from './synthetic-render.js';

export interface SyntheticOptions {
  /** Directory to write into (created). */
  readonly root: string;
  /** Default `folders`. */
  readonly layout?: ImagenetLayout;
  /** Number of classes, 1…1000 (default 10). */
  readonly classes?: number;
  readonly trainPerClass?: number;
  readonly valPerClass?: number;
  /** Range of the longer side in pixels (default [64, 320]). */
  readonly longSide?: readonly [number, number];
  /** Range of the aspect ratio, longer / shorter side (default [1, 2]); orientation is random. */
  readonly aspect?: readonly [number, number];
  /** Number of training images written as grayscale JPEGs (default 0). */
  readonly grayscale?: number;
  /** Number of training images written as CMYK JPEGs (default 0). */
  readonly cmyk?: number;
  /** Broken files added to the training split (round-robin over classes). */
  readonly bad?: { readonly truncated?: number; readonly garbage?: number; readonly empty?: number; readonly png?: number };
  /** JPEG quality (default 90). */
  readonly quality?: number;
  readonly seed?: number;
  /** Images encoded at once (default 4). */
  readonly concurrency?: number;
}

export interface SyntheticSplit {
  /** Paths relative to root, in the order written. */
  readonly files: readonly string[];
  /** Class (0…K−1 = ImageNet index) per file; −1 for a broken file that has no image. */
  readonly labels: readonly number[];
}

export interface SyntheticManifest {
  readonly root: string;
  readonly layout: ImagenetLayout;
  readonly wnids: readonly string[];
  readonly train: SyntheticSplit;
  readonly val: SyntheticSplit;
  /** Relative paths of the special files. */
  readonly grayscale: readonly string[];
  readonly cmyk: readonly string[];
  readonly bad: {
    readonly truncated: readonly string[];
    readonly garbage: readonly string[];
    readonly empty: readonly string[];
    readonly png: readonly string[];
  };
}

type Kind = 'rgb' | 'grayscale' | 'cmyk' | 'truncated' | 'garbage' | 'empty' | 'png';

interface Job {
  path: string;
  label: number;
  kind: Kind;
  stream: [number, number];
}

async function produce(
  job: Job,
  opts: Required<Pick<SyntheticOptions, 'longSide' | 'aspect' | 'quality' | 'seed'>>,
  k: number,
): Promise<{ box: [number, number, number, number]; width: number; height: number }> {
  if (job.kind === 'empty') {
    await writeFile(job.path, new Uint8Array(0));
    return { box: [0, 0, 0, 0], width: 0, height: 0 };
  }
  const rng = new SyntheticStream(opts.seed, job.stream[0], job.stream[1]);
  if (job.kind === 'garbage') {
    const bytes = Buffer.alloc(512 + Math.floor(rng.next() * 2048));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng.next() * 256);
    bytes[0] = 0x47; // never a valid image signature
    await writeFile(job.path, bytes);
    return { box: [0, 0, 0, 0], width: 0, height: 0 };
  }
  const long = Math.round(rng.range(opts.longSide[0], opts.longSide[1]));
  const short = Math.max(8, Math.round(long / rng.range(opts.aspect[0], opts.aspect[1])));
  const landscape = rng.next() < 0.6;
  const width = landscape ? long : short;
  const height = landscape ? short : long;
  const drawn = renderSyntheticImage(job.label, k, width, height, rng);
  let img = sharp(drawn.pixels, { raw: { width, height, channels: 3 } });
  if (job.kind === 'grayscale') img = img.toColourspace('b-w');
  if (job.kind === 'cmyk') img = img.toColourspace('cmyk');
  let bytes: Buffer = job.kind === 'png' ? await img.png({ compressionLevel: 1 }).toBuffer() : await img.jpeg({ quality: opts.quality }).toBuffer();
  if (job.kind === 'truncated') bytes = bytes.subarray(0, Math.floor(bytes.length * 0.6));
  await writeFile(job.path, bytes);
  return { box: drawn.box, width, height };
}

/** Writes a synthetic ILSVRC-style image set and returns what it wrote. */
export async function generateSyntheticImagenet(options: SyntheticOptions): Promise<SyntheticManifest> {
  const op = 'generateSyntheticImagenet';
  const root = resolve(options.root);
  const layout = options.layout ?? 'folders';
  if (layout !== 'folders' && layout !== 'devkit' && layout !== 'kaggle')
    throw new TesseraError(op, `layout must be "folders", "devkit" or "kaggle", got ${JSON.stringify(layout)}`);
  const k = options.classes ?? 10;
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new TesseraError(op, `classes must be an integer in [1, 1000], got ${k}`);
  const trainPer = options.trainPerClass ?? 8;
  const valPer = options.valPerClass ?? 2;
  for (const [name, v] of Object.entries({ trainPerClass: trainPer, valPerClass: valPer })) {
    if (!Number.isInteger(v) || v < 0) throw new TesseraError(op, `${name} must be a non-negative integer, got ${v}`);
  }
  const longSide = options.longSide ?? [64, 320];
  const aspect = options.aspect ?? [1, 2];
  if (!(longSide[0] >= 8 && longSide[1] >= longSide[0]))
    throw new TesseraError(op, `longSide must be [min, max] with 8 ≤ min ≤ max, got [${longSide.join(', ')}]`);
  if (!(aspect[0] >= 1 && aspect[1] >= aspect[0])) throw new TesseraError(op, `aspect must be [min, max] with 1 ≤ min ≤ max, got [${aspect.join(', ')}]`);
  const seed = options.seed ?? 0;
  const quality = options.quality ?? 90;
  const bad = { truncated: options.bad?.truncated ?? 0, garbage: options.bad?.garbage ?? 0, empty: options.bad?.empty ?? 0, png: options.bad?.png ?? 0 };
  const gray = options.grayscale ?? 0;
  const cmyk = options.cmyk ?? 0;
  if (gray + cmyk > k * trainPer) throw new TesseraError(op, `grayscale + cmyk (${gray + cmyk}) exceeds the ${k * trainPer} training images`);

  const classes = imagenetClasses().slice(0, k);
  const wnids = classes.map((c) => c.wnid);
  const base = layout === 'kaggle' ? join(root, 'ILSVRC', 'Data', 'CLS-LOC') : root;
  const trainDir = join(base, 'train');
  const valDir = join(base, 'val');
  for (const w of wnids) await mkdir(join(trainDir, w), { recursive: true });
  await mkdir(valDir, { recursive: true });
  if (layout === 'folders') for (const w of wnids) await mkdir(join(valDir, w), { recursive: true });

  // Training images: class-major, then broken files round-robin over classes.
  const jobs: Job[] = [];
  const train: { files: string[]; labels: number[] } = { files: [], labels: [] };
  const special = {
    grayscale: [] as string[],
    cmyk: [] as string[],
    truncated: [] as string[],
    garbage: [] as string[],
    empty: [] as string[],
    png: [] as string[],
  };
  const n = k * trainPer;
  // Spread grayscale and CMYK images evenly over the training set.
  const kindOf = (i: number): Kind => {
    if (gray > 0 && i % Math.floor(n / gray) === 0 && i / Math.floor(n / gray) < gray) return 'grayscale';
    if (cmyk > 0 && (i + 1) % Math.floor(n / cmyk) === 0 && (i + 1) / Math.floor(n / cmyk) <= cmyk) return 'cmyk';
    return 'rgb';
  };
  const perClassCount = new Array<number>(k).fill(0);
  const addTrain = (c: number, kind: Kind) => {
    const name = `${wnids[c]}_${++perClassCount[c]!}.JPEG`;
    const rel = relativeTo(root, join(trainDir, wnids[c]!, name));
    jobs.push({ path: join(trainDir, wnids[c]!, name), label: c, kind, stream: [1, jobs.length] });
    train.files.push(rel);
    train.labels.push(kind === 'truncated' || kind === 'garbage' || kind === 'empty' ? -1 : c);
    if (kind !== 'rgb') special[kind].push(rel);
  };
  for (let c = 0; c < k; c++) for (let i = 0; i < trainPer; i++) addTrain(c, kindOf(c * trainPer + i));
  let rr = 0;
  for (const kind of ['truncated', 'garbage', 'empty', 'png'] as const) for (let i = 0; i < bad[kind]; i++) addTrain(rr++ % k, kind);

  // Validation images: numbered 1…V in a seeded shuffle of the classes, as the real val set interleaves them.
  const valCount = k * valPer;
  const perm = epochOrder(valCount, seed, 0x7a1, true);
  const val: { files: string[]; labels: number[] } = { files: [], labels: [] };
  const valJobs: Job[] = [];
  for (let num = 1; num <= valCount; num++) {
    const c = Math.floor(perm[num - 1]! / Math.max(1, valPer));
    const name = `ILSVRC2012_val_${String(num).padStart(8, '0')}.JPEG`;
    const path = layout === 'folders' ? join(valDir, wnids[c]!, name) : join(valDir, name);
    valJobs.push({ path, label: c, kind: 'rgb', stream: [2, num] });
    val.files.push(relativeTo(root, path));
    val.labels.push(c);
  }

  const opts = { longSide, aspect, quality, seed };
  const all = [...jobs, ...valJobs];
  const results: { box: [number, number, number, number] }[] = new Array(all.length);
  const concurrency = options.concurrency ?? 4;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, all.length) }, async () => {
      while (next < all.length) {
        const i = next++;
        results[i] = await produce(all[i]!, opts, k);
      }
    }),
  );

  if (layout === 'devkit') {
    const gtDir = join(root, 'ILSVRC2012_devkit_t12', 'data');
    await mkdir(gtDir, { recursive: true });
    await writeFile(join(gtDir, 'ILSVRC2012_validation_ground_truth.txt'), val.labels.map((c) => `${classes[c]!.ilsvrcId}\n`).join(''));
  } else if (layout === 'kaggle') {
    await writeFile(
      join(root, 'LOC_synset_mapping.txt'),
      imagenetClasses()
        .map((c) => `${c.wnid} ${c.name.replace(/_/g, ' ')}\n`)
        .join(''),
    );
    const rows = val.labels.map((c, i) => {
      const b = results[jobs.length + i]!.box;
      return `ILSVRC2012_val_${String(i + 1).padStart(8, '0')},${wnids[c]} ${b.join(' ')} \n`;
    });
    await writeFile(join(root, 'LOC_val_solution.csv'), `ImageId,PredictionString\n${rows.join('')}`);
  }
  return {
    root,
    layout,
    wnids,
    train,
    val,
    grayscale: special.grayscale,
    cmyk: special.cmyk,
    bad: { truncated: special.truncated, garbage: special.garbage, empty: special.empty, png: special.png },
  };
}

function relativeTo(root: string, path: string): string {
  return path.startsWith(root + '/') ? path.slice(root.length + 1) : path;
}
