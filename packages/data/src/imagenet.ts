/**
 * ILSVRC-2012 from a directory, in the layouts people actually have:
 * - folders: `<root>/<split>/<wnid>/*.JPEG` (train as distributed; val after the usual reorganisation);
 * - devkit: `<root>/val/ILSVRC2012_val_00000001.JPEG …` flat, labelled by `ILSVRC2012_validation_ground_truth.txt`
 *   (one 1-based ILSVRC2012_ID per line, line k for image k);
 * - kaggle: `<root>/LOC_synset_mapping.txt`, `<root>/LOC_val_solution.csv` and images under
 *   `<root>/ILSVRC/Data/CLS-LOC/{train/<wnid>/, val/}`.
 *
 * Opening scans the directory and checks the labels against the images; anything that makes the split
 * unusable (missing or empty directories, unknown wnids, label files that do not match the images) is a
 * TesseraError naming the path. Single unreadable images are only discovered when decoded, and become skips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { TesseraError } from '@tessera/tensor';
import { imagenetClassByIlsvrcId, imagenetClassByWnid, imagenetClasses } from './classes.js';
import { checkIndex, runnableModuleUrl, type Dataset, type Item, type WorkerSpec } from './dataset.js';
import { decodeImage, type DecodeOptions, type ResizeKernel } from './decode.js';
import { StringTable, toShared, type StringTableData } from './shared.js';

export type ImagenetLayout = 'folders' | 'devkit' | 'kaggle';

/** File extensions counted as images (case-insensitive). Anything else in the tree is listed as ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.jpeg', '.jpg', '.png']);

export interface ImagenetOptions {
  /** The directory holding `train/` and `val/` (or, for the Kaggle layout, `LOC_synset_mapping.txt`). */
  readonly root: string;
  /** `train` or `val` (any other name works for the folders layout). */
  readonly split: string;
  /** Side of the square images `get` returns: shorter side rescaled to this, centre crop (default 256). */
  readonly size?: number;
  readonly kernel?: ResizeKernel;
  readonly failOn?: DecodeOptions['failOn'];
  /**
   * How labels are numbered: `imagenet` (default) — the 1000-class sorted-wnid index, whatever subset is on
   * disk; `folder` — 0…k−1 over the sorted class folders present (torchvision's ImageFolder); or an explicit
   * list of wnids, label = position in the list.
   */
  readonly classes?: 'imagenet' | 'folder' | readonly string[];
  /** Path of `ILSVRC2012_validation_ground_truth.txt` for a flat val/ (searched for when omitted). */
  readonly groundTruth?: string;
  /** Accept a label file that lists images which are not on disk (a partial copy of val). Default false. */
  readonly partial?: boolean;
}

/** What opening found on disk. */
export interface ImagenetScan {
  readonly layout: ImagenetLayout;
  /** The directory the images were read from. */
  readonly imageDir: string;
  /** The label file used (devkit and Kaggle val). */
  readonly labelFile?: string;
  /** Image files found (every one is in the dataset; unreadable ones are skipped when read). */
  readonly images: number;
  /** Files that are not images by extension, relative to imageDir (first 100) and how many. */
  readonly ignored: readonly string[];
  readonly ignoredCount: number;
  /** Class folders holding no image. */
  readonly emptyClassDirs: readonly string[];
  /** Entries of the label file whose image is not on disk (only with `partial`). */
  readonly labelsWithoutImages: number;
}

const OP = 'openImagenet';
const VAL_NAME = /^ILSVRC2012_val_(\d{8})\.[A-Za-z]+$/;
const GROUND_TRUTH = 'ILSVRC2012_validation_ground_truth.txt';

function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

function listSome(items: readonly string[], n = 5): string {
  return items.slice(0, n).join(', ') + (items.length > n ? `, … (${items.length} in all)` : '');
}

interface DirEntries {
  dirs: string[];
  files: string[];
}

async function readDirSorted(dir: string): Promise<DirEntries> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TesseraError(OP, `directory ${dir} does not exist`);
    if (code === 'ENOTDIR') throw new TesseraError(OP, `${dir} is not a directory`);
    throw new TesseraError(OP, `cannot list ${dir}: ${(e as Error).message}`);
  }
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const s = await stat(join(dir, e.name));
        isDir = s.isDirectory();
        isFile = s.isFile();
      } catch {
        isFile = true; // a dangling link: keep it, so that reading it becomes a counted skip
      }
    }
    if (isDir) dirs.push(e.name);
    else if (isFile) files.push(e.name);
  }
  // Code-unit order, like Python's sorted(): the order torchvision's ImageFolder visits.
  dirs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { dirs, files };
}

/** Image files under `dir`, recursively (as ImageFolder walks), relative to `base`, in sorted order. */
async function walkImages(dir: string, base: string, ignored: string[]): Promise<string[]> {
  const { dirs, files } = await readDirSorted(dir);
  const out: string[] = [];
  for (const f of files) (isImageName(f) ? out : ignored).push(relative(base, join(dir, f)));
  for (const d of dirs) out.push(...(await walkImages(join(dir, d), base, ignored)));
  return out;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TesseraError(OP, `cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

interface Scanned {
  paths: string[];
  labels: number[];
  scan: ImagenetScan;
  numClasses: number;
  classIds: readonly string[];
}

/** Resolves the label of class folder (or wnid) `wnid` under the chosen numbering, or throws. */
function classNumbering(
  options: ImagenetOptions,
  present: readonly string[],
  where: string,
): { labelOf: (w: string) => number | undefined; numClasses: number; classIds: readonly string[] } {
  const mode = options.classes ?? 'imagenet';
  if (mode === 'imagenet') {
    const unknown = present.filter((w) => !imagenetClassByWnid(w));
    if (unknown.length > 0) {
      throw new TesseraError(
        OP,
        `${where}: ${unknown.length} class folder(s) are not ILSVRC-2012 wnids: ${listSome(unknown)} (use classes: 'folder' for other class sets)`,
      );
    }
    return { labelOf: (w) => imagenetClassByWnid(w)?.index, numClasses: 1000, classIds: imagenetClasses().map((c) => c.wnid) };
  }
  if (mode === 'folder') {
    const map = new Map(present.map((w, i) => [w, i]));
    return { labelOf: (w) => map.get(w), numClasses: present.length, classIds: present };
  }
  if (!Array.isArray(mode) || mode.length === 0) throw new TesseraError(OP, `classes must be 'imagenet', 'folder' or a non-empty list of class names`);
  const map = new Map(mode.map((w, i) => [w, i]));
  if (map.size !== mode.length) throw new TesseraError(OP, 'the classes list names a class twice');
  const unknown = present.filter((w) => !map.has(w));
  if (unknown.length > 0) throw new TesseraError(OP, `${where}: ${unknown.length} class folder(s) are not in the given classes list: ${listSome(unknown)}`);
  return { labelOf: (w) => map.get(w), numClasses: mode.length, classIds: mode };
}

async function scanFolders(options: ImagenetOptions, imageDir: string, layout: ImagenetLayout, classDirs: readonly string[]): Promise<Scanned> {
  const numbering = classNumbering(options, classDirs, imageDir);
  const paths: string[] = [];
  const labels: number[] = [];
  const ignored: string[] = [];
  const emptyClassDirs: string[] = [];
  for (const wnid of classDirs) {
    const files = await walkImages(join(imageDir, wnid), imageDir, ignored);
    if (files.length === 0) emptyClassDirs.push(wnid);
    const label = numbering.labelOf(wnid)!;
    for (const f of files) {
      paths.push(f);
      labels.push(label);
    }
  }
  if (paths.length === 0)
    throw new TesseraError(OP, `${imageDir} has ${classDirs.length} class folder(s) but no image files (${IMAGE_EXTENSIONS.join(', ')}) in any of them`);
  return {
    paths,
    labels,
    numClasses: numbering.numClasses,
    classIds: numbering.classIds,
    scan: { layout, imageDir, images: paths.length, ignored: ignored.slice(0, 100), ignoredCount: ignored.length, emptyClassDirs, labelsWithoutImages: 0 },
  };
}

/** Labels for a flat directory of ILSVRC2012_val_NNNNNNNN images, from wnids by image number. */
function labelFlat(
  options: ImagenetOptions,
  imageDir: string,
  files: readonly string[],
  wnidOfImage: (n: number) => string | undefined,
  labelCount: number,
  labelFile: string,
  layout: ImagenetLayout,
  ignored: string[],
): Scanned {
  if ((options.classes ?? 'imagenet') === 'folder') {
    throw new TesseraError(
      OP,
      `${imageDir} is a flat directory labelled by ${labelFile}; classes: 'folder' needs class folders (use 'imagenet' or a wnid list)`,
    );
  }
  const present = [...new Set(Array.from({ length: labelCount }, (_, i) => wnidOfImage(i + 1)!))].sort();
  const numbering = classNumbering(options, present, labelFile);
  const paths: string[] = [];
  const labels: number[] = [];
  const seen = new Map<number, string>();
  const badNames: string[] = [];
  const outOfRange: string[] = [];
  for (const f of files) {
    if (!isImageName(f)) {
      ignored.push(f);
      continue;
    }
    const m = VAL_NAME.exec(f);
    if (!m) {
      badNames.push(f);
      continue;
    }
    const n = Number(m[1]);
    if (n < 1 || n > labelCount) {
      outOfRange.push(f);
      continue;
    }
    const before = seen.get(n);
    if (before !== undefined) throw new TesseraError(OP, `${imageDir}: ${before} and ${f} are both image number ${n}`);
    seen.set(n, f);
    paths.push(f);
    labels.push(numbering.labelOf(wnidOfImage(n)!)!);
  }
  if (badNames.length > 0) {
    throw new TesseraError(
      OP,
      `${imageDir}: ${badNames.length} image(s) are not named ILSVRC2012_val_NNNNNNNN, so ${labelFile} cannot label them: ${listSome(badNames)}`,
    );
  }
  if (outOfRange.length > 0) {
    throw new TesseraError(
      OP,
      `${labelFile} labels images 1…${labelCount}, but ${imageDir} holds ${outOfRange.length} image(s) beyond that: ${listSome(outOfRange)}`,
    );
  }
  if (paths.length === 0) throw new TesseraError(OP, `${imageDir} holds no image files (${IMAGE_EXTENSIONS.join(', ')})`);
  const missing = labelCount - paths.length;
  if (missing > 0 && !options.partial) {
    const absent: string[] = [];
    for (let n = 1; n <= labelCount && absent.length < 5; n++) if (!seen.has(n)) absent.push(`ILSVRC2012_val_${String(n).padStart(8, '0')}`);
    throw new TesseraError(
      OP,
      `${labelFile} labels ${labelCount} images but ${imageDir} holds ${paths.length}: ${missing} missing (${absent.join(', ')}${missing > 5 ? ', …' : ''}); pass partial: true to use a partial copy`,
    );
  }
  // Keep image-number order (the devkit's), whatever the extensions.
  const order = paths.map((_, i) => i).sort((a, b) => Number(VAL_NAME.exec(paths[a]!)![1]) - Number(VAL_NAME.exec(paths[b]!)![1]));
  return {
    paths: order.map((i) => paths[i]!),
    labels: order.map((i) => labels[i]!),
    numClasses: numbering.numClasses,
    classIds: numbering.classIds,
    scan: {
      layout,
      imageDir,
      labelFile,
      images: paths.length,
      ignored: ignored.slice(0, 100),
      ignoredCount: ignored.length,
      emptyClassDirs: [],
      labelsWithoutImages: missing,
    },
  };
}

/** Parses the devkit ground truth: one ILSVRC2012_ID (1…1000) per line. Returns wnids by image number. */
export function parseGroundTruth(text: string, path: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new TesseraError(OP, `${path} is empty`);
  return lines.map((line, i) => {
    const t = line.trim();
    const id = /^\d+$/.test(t) ? Number(t) : NaN;
    const c = imagenetClassByIlsvrcId(id);
    if (!c) throw new TesseraError(OP, `${path} line ${i + 1}: ${JSON.stringify(line)} is not an ILSVRC2012_ID in 1…1000`);
    return c.wnid;
  });
}

/** Parses Kaggle's LOC_val_solution.csv: `ImageId,PredictionString` rows, the first wnid of each being the label. */
export function parseKaggleSolution(text: string, path: string): Map<string, string> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines[0]?.replace(/\s/g, '') !== 'ImageId,PredictionString') {
    throw new TesseraError(OP, `${path}: expected the header "ImageId,PredictionString", got ${JSON.stringify(lines[0] ?? '')}`);
  }
  const out = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const [id, pred] = lines[i]!.split(',');
    const wnid = pred?.trim().split(/\s+/)[0] ?? '';
    if (!id || !/^n\d{8}$/.test(wnid)) throw new TesseraError(OP, `${path} line ${i + 1}: cannot read an image id and a wnid from ${JSON.stringify(lines[i])}`);
    if (out.has(id.trim())) throw new TesseraError(OP, `${path} line ${i + 1}: image ${id} is listed twice`);
    out.set(id.trim(), wnid);
  }
  return out;
}

/** Parses Kaggle's LOC_synset_mapping.txt (`n01440764 tench, Tinca tinca` per line) into wnids in file order. */
export function parseSynsetMapping(text: string, path: string): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new TesseraError(OP, `${path} is empty`);
  return lines.map((line, i) => {
    const wnid = line.trim().split(/\s+/)[0]!;
    if (!/^n\d{8}$/.test(wnid)) throw new TesseraError(OP, `${path} line ${i + 1}: ${JSON.stringify(line)} does not start with a wnid`);
    return wnid;
  });
}

function findGroundTruth(root: string, imageDir: string): string | undefined {
  const candidates = [
    join(root, GROUND_TRUTH),
    join(imageDir, GROUND_TRUTH),
    join(root, 'ILSVRC2012_devkit_t12', 'data', GROUND_TRUTH),
    join(root, 'devkit', 'data', GROUND_TRUTH),
    join(root, 'data', GROUND_TRUTH),
  ];
  return candidates.find((p) => existsSync(p));
}

async function scan(options: ImagenetOptions): Promise<Scanned> {
  const root = resolve(options.root);
  if (!existsSync(root)) throw new TesseraError(OP, `the dataset root ${root} does not exist`);
  const kaggleMapping = join(root, 'LOC_synset_mapping.txt');
  if (existsSync(kaggleMapping)) {
    const mapping = parseSynsetMapping(readText(kaggleMapping, 'Kaggle synset mapping'), kaggleMapping);
    const unknown = mapping.filter((w) => !imagenetClassByWnid(w));
    if (unknown.length > 0 && (options.classes ?? 'imagenet') === 'imagenet') {
      throw new TesseraError(OP, `${kaggleMapping} lists wnids that are not ILSVRC-2012 classes: ${listSome(unknown)}`);
    }
    const imageDir = join(root, 'ILSVRC', 'Data', 'CLS-LOC', options.split);
    const { dirs, files } = await readDirSorted(imageDir);
    if (dirs.length > 0) {
      const notMapped = dirs.filter((d) => !mapping.includes(d));
      if (notMapped.length > 0) throw new TesseraError(OP, `${imageDir}: class folder(s) missing from ${kaggleMapping}: ${listSome(notMapped)}`);
      const opts = options.classes === 'folder' ? { ...options, classes: mapping } : options;
      return scanFolders(opts, imageDir, 'kaggle', dirs);
    }
    const solution = join(root, `LOC_${options.split}_solution.csv`);
    if (!existsSync(solution)) throw new TesseraError(OP, `${imageDir} is flat, so it needs the label file ${solution}, which does not exist`);
    const byId = parseKaggleSolution(readText(solution, 'Kaggle solution file'), solution);
    const ignored: string[] = [];
    const ids = [...byId.keys()];
    const numberOf = new Map<number, string>();
    for (const id of ids) {
      const m = /^ILSVRC2012_val_(\d{8})$/.exec(id);
      if (!m) throw new TesseraError(OP, `${solution}: image id ${JSON.stringify(id)} is not of the form ILSVRC2012_val_NNNNNNNN`);
      numberOf.set(Number(m[1]), byId.get(id)!);
    }
    const unknownWnids = [...new Set(byId.values())].filter((w) => !mapping.includes(w));
    if (unknownWnids.length > 0) throw new TesseraError(OP, `${solution} labels images with wnids missing from ${kaggleMapping}: ${listSome(unknownWnids)}`);
    const count = Math.max(...numberOf.keys());
    if (numberOf.size !== count) {
      throw new TesseraError(OP, `${solution} should list images 1…${count} once each but lists ${numberOf.size}`);
    }
    const opts = options.classes === 'folder' ? { ...options, classes: mapping } : options;
    return labelFlat(opts, imageDir, files, (n) => numberOf.get(n), count, solution, 'kaggle', ignored);
  }

  const imageDir = join(root, options.split);
  if (!existsSync(imageDir)) {
    let found = '';
    try {
      const { dirs } = await readDirSorted(root);
      found = dirs.length > 0 ? `; it holds ${listSome(dirs)}` : '; it is empty';
    } catch {
      /* the error below says enough */
    }
    throw new TesseraError(
      OP,
      `${root} has no ${options.split}/ directory${found} (expected ${options.split}/<wnid>/*.JPEG, a flat ${options.split}/ with ${GROUND_TRUTH}, or the Kaggle layout with LOC_synset_mapping.txt)`,
    );
  }
  const { dirs, files } = await readDirSorted(imageDir);
  const flatImages = files.filter(isImageName);
  if (dirs.length > 0 && flatImages.length > 0) {
    throw new TesseraError(
      OP,
      `${imageDir} mixes class folders (${listSome(dirs, 3)}) with images at the top level (${listSome(flatImages, 3)}); use one layout`,
    );
  }
  if (dirs.length > 0) {
    const result = await scanFolders(options, imageDir, 'folders', dirs);
    const topLevel = files.filter((f) => !isImageName(f));
    return {
      ...result,
      scan: { ...result.scan, ignored: [...topLevel, ...result.scan.ignored].slice(0, 100), ignoredCount: result.scan.ignoredCount + topLevel.length },
    };
  }
  if (flatImages.length === 0) throw new TesseraError(OP, `${imageDir} is empty: no class folders and no image files (${IMAGE_EXTENSIONS.join(', ')})`);
  const gt = options.groundTruth !== undefined ? resolve(options.groundTruth) : findGroundTruth(root, imageDir);
  if (gt === undefined || !existsSync(gt)) {
    throw new TesseraError(
      OP,
      `${imageDir} is flat (${flatImages.length} images, no class folders) but ${gt ?? GROUND_TRUTH} was not found${gt ? '' : ` in ${root}, ${imageDir} or ${join(root, 'ILSVRC2012_devkit_t12', 'data')}`}; pass groundTruth: <path>`,
    );
  }
  const wnids = parseGroundTruth(readText(gt, 'ground-truth file'), gt);
  return labelFlat(options, imageDir, files, (n) => wnids[n - 1], wnids.length, gt, 'devkit', []);
}

interface ImagenetSpecArgs {
  imageDir: string;
  paths: StringTableData;
  labels: Int32Array;
  numClasses: number;
  decode: DecodeOptions;
}

/** An ILSVRC-2012 split on disk; `get` decodes an image to size×size RGB (shorter side, then centre crop). */
export class ImagenetDataset implements Dataset {
  readonly length: number;
  readonly numClasses: number;
  readonly imageShape: readonly [number, number, number];
  /** Class names by label (human-readable for ILSVRC wnids). */
  readonly classNames: readonly string[];
  /** The class id (wnid or folder name) of each label. */
  readonly classIds: readonly string[];
  /** Labels by image. */
  readonly labels: Int32Array;
  /** What the scan found (layout, ignored files, empty class folders). Undefined in worker threads. */
  readonly scan: ImagenetScan | undefined;
  private readonly imageDir: string;
  private readonly paths: StringTable;
  private readonly decode: DecodeOptions;

  /** @internal Use openImagenet. */
  constructor(args: ImagenetSpecArgs, scanned?: { scan: ImagenetScan; classIds: readonly string[] }) {
    this.imageDir = args.imageDir;
    this.paths = new StringTable(args.paths);
    this.labels = args.labels;
    this.length = this.labels.length;
    this.numClasses = args.numClasses;
    this.decode = args.decode;
    this.imageShape = [args.decode.size, args.decode.size, 3];
    this.scan = scanned?.scan;
    this.classIds = scanned?.classIds ?? [];
    this.classNames = this.classIds.map((w) => imagenetClassByWnid(w)?.name ?? w);
  }

  /** Path of image `index`. */
  source(index: number): string {
    checkIndex('ImagenetDataset.source', index, this.length);
    return join(this.imageDir, this.paths.get(index));
  }

  async get(index: number): Promise<Item> {
    const path = this.source(index);
    let bytes: Buffer;
    try {
      // In a worker thread a blocking read is ~10× cheaper in CPU than fs.promises' chain of thread-pool hops,
      // and blocks nothing that matters; on the main thread stay asynchronous.
      bytes = isMainThread ? await readFile(path) : readFileSync(path);
    } catch (e) {
      return { ok: false, reason: `cannot read the file: ${(e as Error).message}` };
    }
    const d = await decodeImage(bytes, path, this.decode);
    if (!d.ok) return d;
    const label = this.labels[index]!;
    return d.notes.length > 0 ? { ok: true, image: d.image, label, notes: d.notes } : { ok: true, image: d.image, label };
  }

  workerSpec(): WorkerSpec {
    const args: ImagenetSpecArgs = { imageDir: this.imageDir, paths: this.paths.data(), labels: this.labels, numClasses: this.numClasses, decode: this.decode };
    return { module: runnableModuleUrl(import.meta.url), exportName: 'imagenetFromSpec', args };
  }
}

/** @internal The worker-thread side of ImagenetDataset.workerSpec. */
export function imagenetFromSpec(args: ImagenetSpecArgs): ImagenetDataset {
  return new ImagenetDataset(args);
}

/** Scans an ILSVRC-2012 split (see the module comment for the layouts) and checks its labels. */
export async function openImagenet(options: ImagenetOptions): Promise<ImagenetDataset> {
  if (!options || typeof options.root !== 'string' || options.root === '') throw new TesseraError(OP, 'options.root must be the path of the dataset directory');
  if (typeof options.split !== 'string' || options.split === '' || /[\\/]/.test(options.split))
    throw new TesseraError(OP, `options.split must be a directory name such as "train" or "val", got ${JSON.stringify(options.split)}`);
  const size = options.size ?? 256;
  if (!Number.isInteger(size) || size < 1 || size > 4096) throw new TesseraError(OP, `size must be an integer in [1, 4096], got ${size}`);
  const kernels = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'];
  if (options.kernel !== undefined && !kernels.includes(options.kernel))
    throw new TesseraError(OP, `kernel must be one of ${kernels.join(', ')}, got ${JSON.stringify(options.kernel)}`);
  const failOns = ['none', 'truncated', 'error', 'warning'];
  if (options.failOn !== undefined && !failOns.includes(options.failOn))
    throw new TesseraError(OP, `failOn must be one of ${failOns.join(', ')}, got ${JSON.stringify(options.failOn)}`);
  const scanned = await scan(options);
  const decode: DecodeOptions = { size, kernel: options.kernel ?? 'linear', failOn: options.failOn ?? 'truncated' };
  const args: ImagenetSpecArgs = {
    imageDir: scanned.scan.imageDir,
    paths: StringTable.from(scanned.paths).data(),
    labels: toShared(Int32Array.from(scanned.labels)),
    numClasses: scanned.numClasses,
    decode,
  };
  return new ImagenetDataset(args, { scan: scanned.scan, classIds: scanned.classIds });
}
