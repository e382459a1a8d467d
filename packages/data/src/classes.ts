/**
 * The 1000 ILSVRC-2012 classes, shipped with the package (data/ilsvrc2012_classes.tsv) so that predictions can
 * be named. Two numberings exist and both are kept:
 * - `index` (0…999): position in the sorted list of WordNet ids — what torchvision's ImageFolder, Caffe and
 *   every pretrained AlexNet use as the output unit. This is the label tessera's ImageNet datasets produce.
 * - `ilsvrcId` (1…1000): the devkit's ILSVRC2012_ID, used by `ILSVRC2012_validation_ground_truth.txt`.
 */
import { readFileSync } from 'node:fs';
import { TesseraError } from '@tessera/tensor';

export interface ImagenetClass {
  /** 0-based output index (sorted-wnid order, as torchvision and Caffe number the classes). */
  readonly index: number;
  /** 1-based ILSVRC2012_ID from the devkit (the numbering of the validation ground-truth file). */
  readonly ilsvrcId: number;
  /** WordNet id, e.g. `n01440764`. */
  readonly wnid: string;
  /** Short human-readable name, e.g. `tench` or `kit_fox`. */
  readonly name: string;
}

/** Where the class table lives: `data/` beside `dist/` (and beside `src/` when run from sources). */
const TABLE_URL = new URL('../data/ilsvrc2012_classes.tsv', import.meta.url);

let cached: readonly ImagenetClass[] | null = null;
let byWnid: Map<string, ImagenetClass> | null = null;
let byIlsvrcId: ImagenetClass[] | null = null;

/** Parses the class table; exported for tests of a damaged table. */
export function parseClassTable(text: string, source: string): ImagenetClass[] {
  const op = 'imagenetClasses';
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (header?.split('\t').join(',') !== 'ilsvrc2012_id,sorted_index,wnid,name') {
    throw new TesseraError(op, `${source}: expected the header "ilsvrc2012_id<TAB>sorted_index<TAB>wnid<TAB>name", got ${JSON.stringify(header)}`);
  }
  const classes: ImagenetClass[] = new Array(lines.length);
  lines.forEach((line, i) => {
    const cols = line.split('\t');
    const id = Number(cols[0]);
    const index = Number(cols[1]);
    const wnid = cols[2] ?? '';
    const name = cols[3] ?? '';
    if (cols.length !== 4 || !Number.isInteger(id) || !Number.isInteger(index) || !/^n\d{8}$/.test(wnid) || name === '') {
      throw new TesseraError(op, `${source} line ${i + 2} is malformed: ${JSON.stringify(line)}`);
    }
    if (index < 0 || index >= lines.length || classes[index] !== undefined) {
      throw new TesseraError(op, `${source} line ${i + 2}: sorted_index ${index} is out of range or repeated`);
    }
    classes[index] = Object.freeze({ index, ilsvrcId: id, wnid, name });
  });
  for (let i = 1; i < classes.length; i++) {
    if (!(classes[i - 1]!.wnid < classes[i]!.wnid)) {
      throw new TesseraError(
        op,
        `${source}: sorted_index must follow sorted wnids, but ${classes[i - 1]!.wnid} (index ${i - 1}) ≥ ${classes[i]!.wnid} (index ${i})`,
      );
    }
  }
  return classes;
}

/** All 1000 classes, ordered by `index` (sorted wnid). */
export function imagenetClasses(): readonly ImagenetClass[] {
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(TABLE_URL, 'utf8');
  } catch (e) {
    throw new TesseraError('imagenetClasses', `cannot read the shipped class table ${TABLE_URL.pathname}: ${(e as Error).message}`);
  }
  const classes = parseClassTable(text, TABLE_URL.pathname);
  if (classes.length !== 1000) throw new TesseraError('imagenetClasses', `${TABLE_URL.pathname} holds ${classes.length} classes, expected 1000`);
  cached = Object.freeze(classes);
  return cached;
}

/** The class with WordNet id `wnid`, or undefined when it is not one of the 1000. */
export function imagenetClassByWnid(wnid: string): ImagenetClass | undefined {
  if (!byWnid) byWnid = new Map(imagenetClasses().map((c) => [c.wnid, c]));
  return byWnid.get(wnid);
}

/** The class with devkit ILSVRC2012_ID `id` (1…1000), or undefined. */
export function imagenetClassByIlsvrcId(id: number): ImagenetClass | undefined {
  if (!byIlsvrcId) {
    byIlsvrcId = [];
    for (const c of imagenetClasses()) byIlsvrcId[c.ilsvrcId] = c;
  }
  return Number.isInteger(id) ? byIlsvrcId[id] : undefined;
}

/** The class at output index `index` (0…999). Throws for an index out of range. */
export function imagenetClass(index: number): ImagenetClass {
  const c = Number.isInteger(index) ? imagenetClasses()[index] : undefined;
  if (!c) throw new TesseraError('imagenetClass', `class index must be an integer in [0, 1000), got ${index}`);
  return c;
}
